#include "models/blocks/mlp.h"

#include <cmath>

#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>

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

at::Tensor DenseMlp(const at::Tensor& x, const Linear& up, const Linear& down, Activation act) {
  return down(Activate(act, up(x)));
}

at::Tensor GatedMlp(const at::Tensor& x, const FusedLinear& gate_up, const Linear& down,
                    Activation act) {
  auto parts = gate_up(x);
  return down(Activate(act, parts[0]) * parts[1]);
}

at::Tensor MlpInputGradient(const at::Tensor& x,
                            const std::function<at::Tensor(const at::Tensor&)>& mlp) {
  at::AutoGradMode grad_mode(true);
  at::Tensor input = x.detach().clone().requires_grad_(true);
  at::Tensor total = mlp(input).to(at::kFloat).norm(2, {-1}).sum();
  return torch::autograd::grad({total}, {input})[0].detach();
}

}  // namespace sinkscope::models::blocks
