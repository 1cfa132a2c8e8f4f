// Activations and MLP variants shared by the architectures.
#pragma once

#include <string>

#include <ATen/ATen.h>

#include "core/status.h"

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

/// x @ w.T + b (b may be undefined).
inline at::Tensor Linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b = {}) {
  return at::linear(x, w, b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt);
}

/// Two-layer MLP: down(act(up(x))) — BERT, GPT-2, GPT-NeoX, Phi.
struct DenseMlpWeights {
  at::Tensor up_weight, up_bias, down_weight, down_bias;
};
at::Tensor DenseMlp(const at::Tensor& x, const DenseMlpWeights& w, Activation act);

/// Gated MLP: down(act(gate(x)) * up(x)) — LLaMA family (SwiGLU), Gemma (GeGLU).
struct GatedMlpWeights {
  at::Tensor gate_weight, up_weight, down_weight;
};
at::Tensor GatedMlp(const at::Tensor& x, const GatedMlpWeights& w, Activation act);

}  // namespace sinkscope::models::blocks
