// Normalization blocks shared by the architectures.
#pragma once

#include <ATen/ATen.h>

namespace sinkscope::models::blocks {

/// torch.nn.LayerNorm over the last axis (BERT, GPT-2, GPT-NeoX, Phi).
inline at::Tensor LayerNorm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                            double eps) {
  return at::layer_norm(x, {x.size(-1)}, weight, bias, eps);
}

/// RMSNorm variants. Both normalize in float32 like Hugging Face:
///  - kScaleByWeight (LlamaRMSNorm): weight * (x_f32 * rsqrt(mean(x²) + eps)).to(input dtype)
///  - kScaleByOnePlusWeight (GemmaRMSNorm): (x_f32 * rsqrt(…) * (1 + weight_f32)).to(input dtype)
enum class RmsNormKind { kScaleByWeight, kScaleByOnePlusWeight };

at::Tensor RmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps, RmsNormKind kind);

}  // namespace sinkscope::models::blocks
