// Activations and MLP variants shared by the architectures.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/status.h"
#include "models/blocks/linear.h"

namespace sinkscope::models::blocks {

/// Activation functions by their Hugging Face names (transformers/activations.py ACT2FN).
enum class Activation {
  kGeluErf,   ///< "gelu": exact erf form
  kGeluNew,   ///< "gelu_new", "gelu_fast": 0.5x(1+tanh(√(2/π)(x+0.044715x³))) written out
  kGeluTanh,  ///< "gelu_pytorch_tanh": torch's tanh approximation kernel
  kSilu,      ///< "silu", "swish"
  kRelu,      ///< "relu"
};

/// INVALID_ARGUMENT for names outside the list above (naming the config key).
StatusOr<Activation> ParseActivation(const std::string& name, const std::string& key);

at::Tensor Activate(Activation act, const at::Tensor& x);

/// Two-layer MLP: down(act(up(x))) — BERT, GPT-2, GPT-NeoX, Phi.
at::Tensor DenseMlp(const at::Tensor& x, const Linear& up, const Linear& down, Activation act);

/// Gated MLP: down(act(gate(x)) * up(x)) — LLaMA family (SwiGLU), Gemma (GeGLU). `gate_up`
/// fuses the gate and up projections, in that order.
at::Tensor GatedMlp(const at::Tensor& x, const FusedLinear& gate_up, const Linear& down,
                    Activation act);

/// ∂(Σ_t ‖mlp(x_t)‖₂)/∂x for x [N,D] (packed tokens); row t is ∂‖mlp(x_t)‖/∂x_t because the MLP
/// acts on each token alone (spec sinks-frames-decomposition §3, MLP input attribution). Runs
/// autograd on a detached copy of x and asks for its gradient only (parameters' .grad are left
/// alone); the products inside `mlp` must be visible to autograd (a differentiable model).
at::Tensor MlpInputGradient(const at::Tensor& x,
                            const std::function<at::Tensor(const at::Tensor&)>& mlp);

}  // namespace sinkscope::models::blocks
