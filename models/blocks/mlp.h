// Activations and MLP variants shared by the architectures.
#pragma once

#include <string>
#include <vector>

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

/// Projections of the same input fused into one matrix product (e.g. q|k|v): the activations
/// are packed once instead of once per projection. Built once at load.
class FusedLinear {
 public:
  FusedLinear() = default;
  /// `biases` is empty or has one (possibly undefined = zero) tensor per weight.
  FusedLinear(const std::vector<at::Tensor>& weights, const std::vector<at::Tensor>& biases);
  /// x [..., in] → one tensor per projection [..., out_i] (views of one product).
  std::vector<at::Tensor> operator()(const at::Tensor& x) const;

 private:
  at::Tensor weight_, bias_;
  std::vector<int64_t> sizes_;
};

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
