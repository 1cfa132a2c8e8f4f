#include "analyzers/spectral/batched_eigenvalues.h"

#include "core/torch_call.h"

namespace sinkscope::analyzers::spectral {

StatusOr<at::Tensor> BatchedSymmetricEigenvalues(const at::Tensor& matrices) {
  if (!matrices.defined()) return InvalidArgumentError("eigenvalues: matrices are missing");
  if (matrices.dim() != 3 || matrices.size(1) != matrices.size(2)) {
    return InvalidArgumentError("eigenvalues: matrices must be [K, n, n], got shape {}",
                                c10::str(matrices.sizes()));
  }
  const auto dtype = matrices.scalar_type();
  if (dtype != at::kFloat && dtype != at::kDouble) {
    return InvalidArgumentError("eigenvalues: matrices must be float32 or float64, got {}",
                                c10::toString(dtype));
  }
  if (matrices.size(0) == 0 || matrices.size(1) == 0) {
    return at::empty({matrices.size(0), matrices.size(1)}, matrices.options());
  }
  return TorchCall("symmetric eigenvalues",
                   [&] { return at::linalg_eigvalsh(matrices.contiguous(), "L"); });
}

at::Tensor CombinatorialLaplacians(const at::Tensor& weights) {
  at::Tensor off = weights - at::diag_embed(weights.diagonal(0, -2, -1));
  return at::diag_embed(off.sum(-1)) - off;
}

at::Tensor NormalizedLaplacians(const at::Tensor& weights) {
  at::Tensor laplacian = CombinatorialLaplacians(weights);
  at::Tensor degree = laplacian.diagonal(0, -2, -1);
  at::Tensor positive = degree.gt(0);
  at::Tensor inv_sqrt = at::where(
      positive, at::where(positive, degree, at::ones_like(degree)).rsqrt(), at::zeros_like(degree));
  return inv_sqrt.unsqueeze(-1) * laplacian * inv_sqrt.unsqueeze(-2);
}

}  // namespace sinkscope::analyzers::spectral
