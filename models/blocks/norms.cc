#include "models/blocks/norms.h"

namespace sinkscope::models::blocks {

at::Tensor RmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps, RmsNormKind kind) {
  const auto input_dtype = x.scalar_type();
  at::Tensor xf = x.to(at::kFloat);
  at::Tensor variance = xf.pow(2).mean(-1, /*keepdim=*/true);
  xf = xf * at::rsqrt(variance + eps);
  if (kind == RmsNormKind::kScaleByWeight) return weight * xf.to(input_dtype);
  return (xf * (1.0 + weight.to(at::kFloat))).to(input_dtype);
}

}  // namespace sinkscope::models::blocks
