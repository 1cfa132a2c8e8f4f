// Eigenvalues of many small dense symmetric matrices at once (graph Laplacians of every head,
// head mean and threshold of a request), on the device the matrices live on.
//
// Ideas:
// * One batched LAPACK/cuSOLVER call (`at::linalg_eigvalsh`, syevd per matrix on CPU, the batched
//   Jacobi/syevd path on CUDA) instead of a loop of single calls: the per-call dispatch overhead
//   dominates for n ≤ 128 (bench/spectral measures both, and Eigen's SelfAdjointEigenSolver per
//   matrix; see bench/README.md "bench/spectral").
// * On the CPU, Eigen's SelfAdjointEigenSolver matrix by matrix is cheaper still (no dispatch,
//   no workspace queries): kAuto picks it for CPU tensors and the batched libtorch call elsewhere.
// * A dense solver for every n (spec topology-spectral §8.10: no ARPACK `which='SM'`).
#pragma once

#include <string_view>

#include <ATen/ATen.h>

#include "core/status.h"

namespace sinkscope::analyzers::spectral {

/// Which dense symmetric eigensolver runs the batch.
enum class SymmetricEigenSolver {
  /// One batched `at::linalg_eigvalsh` call on the tensors' device (CPU LAPACK or CUDA).
  kLibtorch,
  /// Eigen's SelfAdjointEigenSolver (Householder tridiagonalization + implicit QR), matrix by
  /// matrix, CPU tensors only. bench/spectral measured it faster than libtorch's LAPACK path on
  /// this machine for every n ≤ 128 (see bench/README.md). For the few eigenvalues of
  /// ComputeLaplacianEigenvalues it means Eigen's tridiagonalization and bisection instead.
  kEigen,
  /// kEigen for CPU tensors, kLibtorch for any other device (the analyzers' default).
  kAuto,
};

/// "libtorch", "eigen" or "auto".
std::string_view SymmetricEigenSolverName(SymmetricEigenSolver solver);
StatusOr<SymmetricEigenSolver> ParseSymmetricEigenSolver(std::string_view name);

/// kAuto resolved for `matrices` (kEigen on the CPU, kLibtorch elsewhere); InvalidArgument when
/// kEigen is asked for a tensor that is not on the CPU.
StatusOr<SymmetricEigenSolver> ResolveSymmetricEigenSolver(SymmetricEigenSolver solver,
                                                           const at::Tensor& matrices);

/// The eigenvalues of each matrix of `matrices` ([K, n, n], symmetric, float32 or float64), in
/// ascending order, as [K, n] of the same dtype on the same device. Only the lower triangle is read
/// (LAPACK's UPLO = 'L'). No host round trip: the result stays on the input's device.
/// InvalidArgument for a non-floating tensor, a shape other than [K, n, n], or kEigen on a non-CPU
/// tensor; K = 0 or n = 0 give an empty result. libtorch failures (e.g. non-convergence, CUDA OOM)
/// become Internal / ResourceExhausted; Eigen non-convergence is Internal.
StatusOr<at::Tensor> BatchedSymmetricEigenvalues(
    const at::Tensor& matrices, SymmetricEigenSolver solver = SymmetricEigenSolver::kLibtorch);

/// Combinatorial Laplacians L = D − W of symmetric weight matrices W ([K, n, n]), D = diag(W·1).
/// A diagonal entry W_ii (self-loop) cancels: L_ii = Σ_{j≠i} W_ij (spec §5.3 step 11).
at::Tensor CombinatorialLaplacians(const at::Tensor& weights);

/// Normalized Laplacians L_sym = D^{-1/2} (D − W) D^{-1/2} ([K, n, n]), with D the diagonal of
/// off-diagonal row sums. Isolated nodes (degree 0) get D^{-1/2} = 0, so their row and column are
/// zero (Chung's convention): L_sym = I − D^{-1/2} W D^{-1/2} on the other nodes, and the
/// multiplicity of the eigenvalue 0 is the number of connected components, isolated nodes
/// included, exactly as for L.
at::Tensor NormalizedLaplacians(const at::Tensor& weights);

}  // namespace sinkscope::analyzers::spectral
