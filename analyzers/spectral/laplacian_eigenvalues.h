// The few eigenvalues of a graph Laplacian that the CORRECTED spectral metrics read — λ2, λ3, λ_max
// and the multiplicity of 0 — without computing the whole spectrum.
//
// Ideas:
// * On the CPU: Householder tridiagonalization (the O(n³) part, ~4/3 n³ flops) and then bisection
//   with Sturm counts on the tridiagonal T (Wilkinson 1965; LAPACK's dstebz does the same): the
//   number of eigenvalues below x is the number of negative pivots of the LDLᵀ factorization of
//   T − xI, an O(n) recurrence. The implicit-QR sweep that computes every eigenvalue (Eigen's
//   SelfAdjointEigenSolver) cost ~3× the tridiagonalization at n = 48. Both steps run in
//   analyzers/common/small_symmetric_eigen.h: matrices tridiagonalized 4 at a time (one per
//   vector lane), bisections 16 chains at a time; the multiplicity of 0 is one more Sturm count.
//   Measured at n = 48 (bench/layer_metrics --breakdown, "their λ2, λ3, λmax alone", 160
//   matrices per layer): 5.9 ms with Eigen's tridiagonalization (~20 µs each) and 8 scalar
//   interleaved chains, 1.8 ms now.
// * Bisection is backward stable: each eigenvalue comes out within a few ulps of ‖T‖ of the exact
//   one, the accuracy of the QR path; the tests compare both.
// * Elsewhere (CUDA, or SymmetricEigenSolver::kLibtorch): one batched at::linalg_eigvalsh and the
//   same values read from the whole spectrum.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include <ATen/ATen.h>

#include "analyzers/spectral/batched_eigenvalues.h"
#include "core/status.h"

namespace sinkscope::analyzers::spectral {

/// What the metrics need of one symmetric matrix's ascending spectrum λ1 ≤ … ≤ λn.
struct LaplacianEigenvalues {
  double second = std::numeric_limits<double>::quiet_NaN();   ///< λ2 (NaN for n < 2)
  double third = std::numeric_limits<double>::quiet_NaN();    ///< λ3 (NaN for n < 3)
  double largest = std::numeric_limits<double>::quiet_NaN();  ///< λn (NaN for n = 0)
  /// 64·n·ε_float64·max(1, λn): eigenvalues at or below it count as 0.
  double zero_tolerance = 0;
  int64_t zero_multiplicity = 0;  ///< #{k : λk ≤ zero_tolerance}
};

/// The values above for each matrix of `matrices` ([K, n, n], symmetric, float64; the lower
/// triangle is read). kEigen (kAuto on the CPU): tridiagonalization and bisection; kLibtorch (kAuto
/// elsewhere): the whole spectrum from BatchedSymmetricEigenvalues. InvalidArgument for a
/// non-float64 tensor, a bad shape, or kEigen on a non-CPU tensor.
StatusOr<std::vector<LaplacianEigenvalues>> ComputeLaplacianEigenvalues(
    const at::Tensor& matrices, SymmetricEigenSolver solver = SymmetricEigenSolver::kAuto);

/// The same for k row-major float64 n×n matrices at `matrices` (host memory, k·n·n values), by
/// tridiagonalization and bisection: the analyzer's CPU path, which builds its Laplacians in
/// reused buffers. Only the first `num_complete` matrices get every field; the others only
/// `second` (third and largest stay NaN, the zero fields 0): a normalized Laplacian's metrics read
/// λ2 alone.
std::vector<LaplacianEigenvalues> ComputeLaplacianEigenvaluesCpu(const double* matrices, int64_t k,
                                                                 int64_t n, int64_t num_complete);

/// The bisection half of ComputeLaplacianEigenvaluesCpu on k tridiagonals already computed
/// (TridiagonalizeSymmetric: diagonal d and off-diagonal e, n values each per matrix):
/// matrix m gets every field if complete[m], else `second` alone. Lets a caller that
/// tridiagonalizes in rounds bisect every round's requests together (16 chains per block: fewer
/// padded chains than one call per round).
std::vector<LaplacianEigenvalues> LaplacianEigenvaluesOfTridiagonals(
    const double* d, const double* e, int64_t k, int64_t n, const std::vector<bool>& complete);

}  // namespace sinkscope::analyzers::spectral
