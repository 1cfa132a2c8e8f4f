#include "analyzers/spectral/batched_eigenvalues.h"

#include <Eigen/Eigenvalues>

#include "core/torch_call.h"

namespace sinkscope::analyzers::spectral {
namespace {

/// Eigen's solver on each matrix of a contiguous CPU batch; false if one did not converge.
template <typename Scalar>
bool EigenEigenvalues(const at::Tensor& matrices, at::Tensor& out) {
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const int64_t k = matrices.size(0), n = matrices.size(1);
  const Scalar* in = matrices.data_ptr<Scalar>();
  Scalar* ev = out.data_ptr<Scalar>();
  Eigen::SelfAdjointEigenSolver<Matrix> solver(n);
  for (int64_t i = 0; i < k; ++i) {
    // Eigen reads the lower triangle, like LAPACK with UPLO = 'L'.
    solver.compute(Eigen::Map<const Matrix>(in + i * n * n, n, n), Eigen::EigenvaluesOnly);
    if (solver.info() != Eigen::Success) return false;
    Eigen::Map<Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>(ev + i * n, n) = solver.eigenvalues();
  }
  return true;
}

}  // namespace

std::string_view SymmetricEigenSolverName(SymmetricEigenSolver solver) {
  switch (solver) {
    case SymmetricEigenSolver::kLibtorch:
      return "libtorch";
    case SymmetricEigenSolver::kEigen:
      return "eigen";
    case SymmetricEigenSolver::kAuto:
      return "auto";
  }
  return "auto";
}

StatusOr<SymmetricEigenSolver> ParseSymmetricEigenSolver(std::string_view name) {
  if (name == "libtorch") return SymmetricEigenSolver::kLibtorch;
  if (name == "eigen") return SymmetricEigenSolver::kEigen;
  if (name == "auto") return SymmetricEigenSolver::kAuto;
  return InvalidArgumentError("unknown eigensolver '{}' (libtorch, eigen or auto)", name);
}

StatusOr<SymmetricEigenSolver> ResolveSymmetricEigenSolver(SymmetricEigenSolver solver,
                                                           const at::Tensor& matrices) {
  const bool cpu = matrices.device().is_cpu();
  if (solver == SymmetricEigenSolver::kAuto) {
    return cpu ? SymmetricEigenSolver::kEigen : SymmetricEigenSolver::kLibtorch;
  }
  if (solver == SymmetricEigenSolver::kEigen && !cpu) {
    return InvalidArgumentError("eigenvalues: the eigen solver needs CPU tensors, got {}",
                                matrices.device().str());
  }
  return solver;
}

StatusOr<at::Tensor> BatchedSymmetricEigenvalues(const at::Tensor& matrices,
                                                 SymmetricEigenSolver solver) {
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
  ASSIGN_OR_RETURN(solver, ResolveSymmetricEigenSolver(solver, matrices));
  if (solver == SymmetricEigenSolver::kEigen) {
    at::Tensor in = matrices.contiguous();
    at::Tensor out = at::empty({in.size(0), in.size(1)}, in.options());
    const bool ok =
        dtype == at::kFloat ? EigenEigenvalues<float>(in, out) : EigenEigenvalues<double>(in, out);
    if (!ok) return InternalError("eigenvalues: Eigen's solver did not converge");
    return out;
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
