#include "analyzers/spectral/laplacian_eigenvalues.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Eigenvalues>

#include "core/torch_call.h"

namespace sinkscope::analyzers::spectral {
namespace {

constexpr double kEpsilon = std::numeric_limits<double>::epsilon();

double ZeroTolerance(int64_t n, double largest) {
  return 64.0 * static_cast<double>(n) * kEpsilon * std::max(1.0, largest);
}

/// A symmetric tridiagonal matrix: diagonal d[0..n), squared off-diagonal e2[0..n−1).
struct Tridiagonal {
  const double* d;
  const double* e2;
  int64_t n;
  double pivmin;  // pivots smaller than this in magnitude are replaced by −pivmin (LAPACK dlaebz)
};

/// For each of `kChains` shifts x[c]: the number of eigenvalues of T below x[c] (the negative
/// pivots of T − x I = L D Lᵀ). The recurrences are independent, so their divisions overlap.
template <int kChains>
void SturmCounts(const Tridiagonal& t, const double* x, int64_t* count) {
  double q[kChains];
  int64_t negative[kChains];
  for (int c = 0; c < kChains; ++c) {
    q[c] = t.d[0] - x[c];
    negative[c] = 0;
  }
  for (int64_t i = 1;; ++i) {
    for (int c = 0; c < kChains; ++c) {
      if (std::abs(q[c]) < t.pivmin) q[c] = -t.pivmin;
      negative[c] += q[c] < 0 ? 1 : 0;
    }
    if (i == t.n) break;
    for (int c = 0; c < kChains; ++c) q[c] = t.d[i] - x[c] - t.e2[i - 1] / q[c];
  }
  for (int c = 0; c < kChains; ++c) count[c] = negative[c];
}

/// λ2, λ3 and λn of T by bisection (indices clamped to n; the caller drops what n lacks).
void BisectSelected(const Tridiagonal& t, const double* e, double out[3]) {
  const int64_t n = t.n;
  // Gershgorin interval, widened so that the counts at its ends are 0 and n.
  double lo = t.d[0], hi = t.d[0];
  for (int64_t i = 0; i < n; ++i) {
    const double radius = (i > 0 ? std::abs(e[i - 1]) : 0.0) + (i + 1 < n ? std::abs(e[i]) : 0.0);
    lo = std::min(lo, t.d[i] - radius);
    hi = std::max(hi, t.d[i] + radius);
  }
  const double norm = std::max(std::abs(lo), std::abs(hi));
  const double slack = 2 * kEpsilon * norm + 2 * t.pivmin;
  lo -= slack;
  hi += slack;
  const int64_t target[3] = {std::min<int64_t>(2, n), std::min<int64_t>(3, n), n};
  double low[3] = {lo, lo, lo}, high[3] = {hi, hi, hi};
  // Absolute accuracy of bisection on T: a few ulps of ‖T‖ (and never below the pivot guard).
  const double tolerance = 4 * kEpsilon * norm + 4 * t.pivmin;
  for (int iteration = 0; iteration < 128; ++iteration) {
    double mid[3];
    bool done = true;
    for (int c = 0; c < 3; ++c) {
      mid[c] = 0.5 * (low[c] + high[c]);
      done = done && high[c] - low[c] <= tolerance;
    }
    if (done) break;
    int64_t below[3];
    SturmCounts<3>(t, mid, below);
    for (int c = 0; c < 3; ++c) {
      // At least target eigenvalues below mid: λ_target < mid.
      if (below[c] >= target[c]) {
        high[c] = mid[c];
      } else {
        low[c] = mid[c];
      }
    }
  }
  for (int c = 0; c < 3; ++c) out[c] = 0.5 * (low[c] + high[c]);
}

using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::vector<LaplacianEigenvalues> ByBisection(const at::Tensor& matrices) {
  const int64_t k = matrices.size(0), n = matrices.size(1);
  std::vector<LaplacianEigenvalues> out(static_cast<size_t>(k));
  if (n == 0) return out;
  const double* in = matrices.data_ptr<double>();
  Eigen::Tridiagonalization<RowMajorMatrix> tridiagonalization(n);
  std::vector<double> e2(static_cast<size_t>(n));
  for (int64_t m = 0; m < k; ++m) {
    LaplacianEigenvalues& v = out[m];
    // Eigen reads the lower triangle, like LAPACK with UPLO = 'L'.
    tridiagonalization.compute(Eigen::Map<const RowMajorMatrix>(in + m * n * n, n, n));
    const Eigen::VectorXd d = tridiagonalization.diagonal();
    const Eigen::VectorXd e = tridiagonalization.subDiagonal();
    double e2_max = 0;
    for (int64_t i = 0; i + 1 < n; ++i) {
      e2[i] = e[i] * e[i];
      e2_max = std::max(e2_max, e2[i]);
    }
    const Tridiagonal t{d.data(), e2.data(), n,
                        std::numeric_limits<double>::min() * std::max(1.0, e2_max)};
    double selected[3];
    BisectSelected(t, e.data(), selected);
    if (n >= 2) v.second = selected[0];
    if (n >= 3) v.third = selected[1];
    v.largest = selected[2];
    v.zero_tolerance = ZeroTolerance(n, v.largest);
    // Eigenvalues ≤ tolerance: those below the next double up.
    const double at[1] = {std::nextafter(v.zero_tolerance, INFINITY)};
    SturmCounts<1>(t, at, &v.zero_multiplicity);
  }
  return out;
}

std::vector<LaplacianEigenvalues> FromSpectra(const at::Tensor& spectra) {
  const int64_t k = spectra.size(0), n = spectra.size(1);
  std::vector<LaplacianEigenvalues> out(static_cast<size_t>(k));
  const double* ev = spectra.data_ptr<double>();
  for (int64_t m = 0; m < k; ++m) {
    const double* s = ev + m * n;
    LaplacianEigenvalues& v = out[m];
    if (n == 0) continue;
    if (n >= 2) v.second = s[1];
    if (n >= 3) v.third = s[2];
    v.largest = s[n - 1];
    v.zero_tolerance = ZeroTolerance(n, v.largest);
    for (int64_t i = 0; i < n; ++i) v.zero_multiplicity += s[i] <= v.zero_tolerance ? 1 : 0;
  }
  return out;
}

}  // namespace

StatusOr<std::vector<LaplacianEigenvalues>> ComputeLaplacianEigenvalues(
    const at::Tensor& matrices, SymmetricEigenSolver solver) {
  if (!matrices.defined()) return InvalidArgumentError("eigenvalues: matrices are missing");
  if (matrices.dim() != 3 || matrices.size(1) != matrices.size(2)) {
    return InvalidArgumentError("eigenvalues: matrices must be [K, n, n], got shape {}",
                                c10::str(matrices.sizes()));
  }
  if (matrices.scalar_type() != at::kDouble) {
    return InvalidArgumentError("eigenvalues: Laplacians must be float64, got {}",
                                c10::toString(matrices.scalar_type()));
  }
  if (solver == SymmetricEigenSolver::kAuto) {
    solver =
        matrices.device().is_cpu() ? SymmetricEigenSolver::kEigen : SymmetricEigenSolver::kLibtorch;
  }
  if (solver == SymmetricEigenSolver::kEigen) {
    if (!matrices.device().is_cpu()) {
      return InvalidArgumentError("eigenvalues: the eigen solver needs CPU tensors, got {}",
                                  matrices.device().str());
    }
    return ByBisection(matrices.contiguous());
  }
  ASSIGN_OR_RETURN(at::Tensor spectra, BatchedSymmetricEigenvalues(matrices, solver));
  ASSIGN_OR_RETURN(at::Tensor host,
                   TorchCall("copying eigenvalues", [&] { return spectra.cpu().contiguous(); }));
  return FromSpectra(host);
}

}  // namespace sinkscope::analyzers::spectral
