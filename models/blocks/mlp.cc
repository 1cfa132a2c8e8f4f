#include "models/blocks/mlp.h"

#include <cmath>

namespace sinkscope::models::blocks {

StatusOr<Activation> ParseActivation(const std::string& name, const std::string& key) {
  if (name == "gelu") return Activation::kGeluErf;
  if (name == "gelu_new" || name == "gelu_fast") return Activation::kGeluNew;
  if (name == "gelu_pytorch_tanh") return Activation::kGeluTanh;
  if (name == "silu" || name == "swish") return Activation::kSilu;
  if (name == "relu") return Activation::kRelu;
  return InvalidArgumentError(
      "'{}' = \"{}\" is not a supported activation (supported: gelu, gelu_new, gelu_fast, "
      "gelu_pytorch_tanh, silu, swish, relu)",
      key, name);
}

at::Tensor Activate(Activation act, const at::Tensor& x) {
  switch (act) {
    case Activation::kGeluErf:
      return at::gelu(x);
    case Activation::kGeluNew: {
      // transformers NewGELUActivation, written out so rounding follows it.
      const double c = std::sqrt(2.0 / M_PI);
      return 0.5 * x * (1.0 + at::tanh(c * (x + 0.044715 * at::pow(x, 3.0))));
    }
    case Activation::kGeluTanh:
      return at::gelu(x, "tanh");
    case Activation::kSilu:
      return at::silu(x);
    case Activation::kRelu:
      return at::relu(x);
  }
  return x;
}

FusedLinear::FusedLinear(const std::vector<at::Tensor>& weights,
                         const std::vector<at::Tensor>& biases) {
  bool any_bias = false;
  for (const auto& b : biases) any_bias = any_bias || b.defined();
  std::vector<at::Tensor> bias_parts;
  for (size_t i = 0; i < weights.size(); ++i) {
    sizes_.push_back(weights[i].size(0));
    if (any_bias) {
      const bool has = i < biases.size() && biases[i].defined();
      bias_parts.push_back(has ? biases[i] : at::zeros({weights[i].size(0)}, weights[i].options()));
    }
  }
  weight_ = at::cat(weights);
  if (any_bias) bias_ = at::cat(bias_parts);
}

std::vector<at::Tensor> FusedLinear::operator()(const at::Tensor& x) const {
  return Linear(x, weight_, bias_).split_with_sizes(sizes_, -1);
}

at::Tensor DenseMlp(const at::Tensor& x, const DenseMlpWeights& w, Activation act) {
  return Linear(Activate(act, Linear(x, w.up_weight, w.up_bias)), w.down_weight, w.down_bias);
}

at::Tensor GatedMlp(const at::Tensor& x, const GatedMlpWeights& w, Activation act) {
  return Linear(Activate(act, Linear(x, w.gate_weight)) * Linear(x, w.up_weight), w.down_weight);
}

}  // namespace sinkscope::models::blocks
