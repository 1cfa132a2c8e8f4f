#include "analyzers/spectral/laplacian_eigenvalues.h"

#include <algorithm>
#include <cmath>

#include "analyzers/common/small_symmetric_eigen.h"
#include "core/torch_call.h"

namespace sinkscope::analyzers::spectral {
namespace {

constexpr double kEpsilon = std::numeric_limits<double>::epsilon();

double ZeroTolerance(int64_t n, double largest) {
  return 64.0 * static_cast<double>(n) * kEpsilon * std::max(1.0, largest);
}

}  // namespace

std::vector<LaplacianEigenvalues> ComputeLaplacianEigenvaluesCpu(const double* in, int64_t k,
                                                                 int64_t n, int64_t num_complete) {
  if (n == 0) return std::vector<LaplacianEigenvalues>(static_cast<size_t>(k));
  num_complete = std::clamp<int64_t>(num_complete, 0, k);
  // Every matrix tridiagonalized first (4 at a time, one per vector lane), then bisection on
  // their tridiagonals, 16 chains at a time (analyzers/common/small_symmetric_eigen.h).
  const auto un = static_cast<size_t>(n);
  std::vector<double> d(static_cast<size_t>(k) * un), e(d.size());
  TridiagonalizeSymmetric(std::span<const double>(in, static_cast<size_t>(k) * un * un), n, d, e);
  std::vector<bool> complete(static_cast<size_t>(k), false);
  std::fill(complete.begin(), complete.begin() + num_complete, true);
  return LaplacianEigenvaluesOfTridiagonals(d.data(), e.data(), k, n, complete);
}

std::vector<LaplacianEigenvalues> LaplacianEigenvaluesOfTridiagonals(
    const double* d, const double* e, int64_t k, int64_t n, const std::vector<bool>& complete) {
  std::vector<LaplacianEigenvalues> out(static_cast<size_t>(k));
  if (n == 0) return out;
  const auto un = static_cast<size_t>(n);
  // λ2 of every matrix, λ3 and λn of the complete ones.
  std::vector<RankedEigenvalue> requests;
  std::vector<double*> targets;
  for (int64_t m = 0; m < k; ++m) {
    LaplacianEigenvalues& v = out[m];
    if (n >= 2) {
      requests.push_back({m, 2});
      targets.push_back(&v.second);
    }
    if (!complete[m]) continue;
    if (n >= 3) {
      requests.push_back({m, 3});
      targets.push_back(&v.third);
    }
    requests.push_back({m, n});
    targets.push_back(&v.largest);
  }
  std::vector<double> values(requests.size());
  const auto all = static_cast<size_t>(k) * un;
  TridiagonalEigenvaluesByRank(std::span<const double>(d, all), std::span<const double>(e, all), n,
                               requests, values);
  for (size_t r = 0; r < requests.size(); ++r) *targets[r] = values[r];
  for (int64_t m = 0; m < k; ++m) {
    if (!complete[m]) continue;
    LaplacianEigenvalues& v = out[m];
    v.zero_tolerance = ZeroTolerance(n, v.largest);
    // Eigenvalues ≤ tolerance: those below the next double up.
    v.zero_multiplicity = CountTridiagonalEigenvaluesBelow(
        d + m * n, e + m * n, n, std::nextafter(v.zero_tolerance, INFINITY));
  }
  return out;
}

namespace {

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
  ASSIGN_OR_RETURN(solver, ResolveSymmetricEigenSolver(solver, matrices));
  if (solver == SymmetricEigenSolver::kEigen) {
    const at::Tensor contiguous = matrices.contiguous();
    return ComputeLaplacianEigenvaluesCpu(contiguous.data_ptr<double>(), contiguous.size(0),
                                          contiguous.size(1), contiguous.size(0));
  }
  ASSIGN_OR_RETURN(at::Tensor spectra, BatchedSymmetricEigenvalues(matrices, solver));
  ASSIGN_OR_RETURN(at::Tensor host,
                   TorchCall("copying eigenvalues", [&] { return spectra.cpu().contiguous(); }));
  return FromSpectra(host);
}

}  // namespace sinkscope::analyzers::spectral
