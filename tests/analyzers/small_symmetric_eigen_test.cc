// The small-matrix eigenvalue engine against Eigen's SelfAdjointEigenSolver and LAPACK
// (at::linalg_eigvalsh): random, degenerate (repeated eigenvalues, zero, diagonal, rank 1) and
// odd-sized inputs, batch sizes that are not multiples of the 4 vector lanes, request counts
// that are not multiples of the 16 bisection chains. Tolerance 1e-12·max(1, ‖A‖₂) on every
// eigenvalue: the engine and the references are backward stable (errors of a few ε‖A‖).
#include "analyzers/common/small_symmetric_eigen.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <Eigen/Eigenvalues>

namespace sinkscope::analyzers {
namespace {

using Matrices = std::vector<double>;  // k row-major n×n matrices

/// Eigen's eigenvalues of the symmetric matrix whose lower triangle is that of a (row-major).
std::vector<double> ReferenceEigenvalues(const double* a, int64_t n) {
  Eigen::MatrixXd symmetric(n, n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j <= i; ++j) symmetric(i, j) = symmetric(j, i) = a[i * n + j];
  }
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(symmetric, Eigen::EigenvaluesOnly);
  return {solver.eigenvalues().data(), solver.eigenvalues().data() + n};
}

double Tolerance(const std::vector<double>& spectrum) {
  double norm = 1;
  for (double x : spectrum) norm = std::max(norm, std::abs(x));
  return 1e-12 * norm;
}

Matrices RandomSymmetric(int64_t k, int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Matrices a(static_cast<size_t>(k * n * n));
  for (int64_t m = 0; m < k; ++m) {
    double* x = a.data() + m * n * n;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j <= i; ++j) x[i * n + j] = x[j * n + i] = normal(rng);
    }
  }
  return a;
}

/// Q diag(values) Qᵀ for a random orthogonal Q (Householder QR of a Gaussian matrix).
void WithSpectrum(const std::vector<double>& values, uint64_t seed, double* out) {
  const auto n = static_cast<int64_t>(values.size());
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd g(n, n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) g(i, j) = normal(rng);
  }
  const Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(g).householderQ();
  const Eigen::VectorXd v = Eigen::Map<const Eigen::VectorXd>(values.data(), n);
  const Eigen::MatrixXd a = q * v.asDiagonal() * q.transpose();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) out[i * n + j] = 0.5 * (a(i, j) + a(j, i));
  }
}

void ExpectAllEigenvalues(const Matrices& a, int64_t n, const std::string& what) {
  const size_t k = a.size() / static_cast<size_t>(n * n);
  std::vector<double> got(k * static_cast<size_t>(n), std::numeric_limits<double>::quiet_NaN());
  SymmetricEigenvalues(a, n, got);
  for (size_t m = 0; m < k; ++m) {
    const std::vector<double> want = ReferenceEigenvalues(a.data() + m * n * n, n);
    const double tol = Tolerance(want);
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_NEAR(got[m * n + i], want[i], tol) << what << " matrix " << m << " i " << i;
    }
  }
}

TEST(SmallSymmetricEigenTest, AllEigenvaluesOfRandomMatricesMatchEigen) {
  for (int64_t n : {1, 2, 3, 4, 5, 7, 13, 31, 48, 49}) {
    for (int64_t k : {1, 3, 4, 5, 10}) {
      ExpectAllEigenvalues(RandomSymmetric(k, n, static_cast<uint64_t>(100 * n + k)), n,
                           "n=" + std::to_string(n) + " k=" + std::to_string(k));
    }
  }
}

TEST(SmallSymmetricEigenTest, AllEigenvaluesMatchLapack) {
  const int64_t n = 48, k = 10;
  const Matrices a = RandomSymmetric(k, n, 7);
  std::vector<double> got(static_cast<size_t>(k * n));
  SymmetricEigenvalues(a, n, got);
  const at::Tensor want =
      at::linalg_eigvalsh(at::from_blob(const_cast<double*>(a.data()), {k, n, n}, at::kDouble), "L")
          .contiguous();
  for (int64_t x = 0; x < k * n; ++x) {
    EXPECT_NEAR(got[x], want.data_ptr<double>()[x], 1e-12 * 20) << x;  // ‖A‖₂ ≈ 2√n ≈ 14
  }
}

TEST(SmallSymmetricEigenTest, DegenerateMatrices) {
  const int64_t n = 9;
  const auto nn = static_cast<size_t>(n * n);
  Matrices a(6 * nn, 0.0);  // matrix 0: zero
  for (int64_t i = 0; i < n; ++i) {
    a[nn + i * n + i] = static_cast<double>((i * 5) % 7) - 3;  // 1: diagonal, unsorted, repeated
    a[2 * nn + i * n + i] = 2.5;                               // 2: 2.5·I
  }
  // 3: rank 1 (u uᵀ); 4: complete-graph Laplacian (0 once, n n−1 times)
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      a[3 * nn + i * n + j] = static_cast<double>((i + 1) * (j + 1)) / 10;
      a[4 * nn + i * n + j] = i == j ? static_cast<double>(n - 1) : -1.0;
    }
  }
  // 5: clustered spectrum {1, 1, 1, 1e-9, 1e-9, 0, 0, −4, −4}
  WithSpectrum({1, 1, 1, 1e-9, 1e-9, 0, 0, -4, -4}, 11, a.data() + 5 * nn);
  ExpectAllEigenvalues(a, n, "degenerate");
  std::vector<double> got(6 * static_cast<size_t>(n));
  SymmetricEigenvalues(a, n, got);
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_EQ(got[i], 0.0) << "zero matrix: no rounding at all";
    EXPECT_EQ(got[2 * n + i], 2.5) << "a multiple of I is already tridiagonal";
  }
}

TEST(SmallSymmetricEigenTest, ReadsOnlyTheLowerTriangle) {
  const int64_t n = 6, k = 5;
  Matrices a = RandomSymmetric(k, n, 3);
  Matrices garbage = a;
  for (int64_t m = 0; m < k; ++m) {
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = i + 1; j < n; ++j) {
        garbage[m * n * n + i * n + j] = std::numeric_limits<double>::quiet_NaN();
      }
    }
  }
  std::vector<double> want(static_cast<size_t>(k * n)), got(want.size());
  SymmetricEigenvalues(a, n, want);
  SymmetricEigenvalues(garbage, n, got);
  EXPECT_EQ(got, want);
}

TEST(SmallSymmetricEigenTest, TridiagonalizationPreservesNormAndSpectrum) {
  for (int64_t n : {1, 2, 3, 10, 48}) {
    const int64_t k = 7;
    const Matrices a = RandomSymmetric(k, n, static_cast<uint64_t>(n));
    std::vector<double> d(static_cast<size_t>(k * n)), e(d.size(), -1.0);
    TridiagonalizeSymmetric(a, n, d, e);
    for (int64_t m = 0; m < k; ++m) {
      double frobenius = 0, tridiagonal = 0;
      for (int64_t x = 0; x < n * n; ++x) frobenius += a[m * n * n + x] * a[m * n * n + x];
      for (int64_t i = 0; i < n; ++i) {
        tridiagonal += d[m * n + i] * d[m * n + i];
        if (i + 1 < n) tridiagonal += 2 * e[m * n + i] * e[m * n + i];
      }
      EXPECT_NEAR(tridiagonal, frobenius, 1e-12 * frobenius) << "n " << n << " m " << m;
      EXPECT_EQ(e[m * n + n - 1], 0.0);
      Eigen::VectorXd diag = Eigen::Map<Eigen::VectorXd>(d.data() + m * n, n);
      Eigen::VectorXd sub =
          n > 1 ? Eigen::VectorXd(Eigen::Map<Eigen::VectorXd>(e.data() + m * n, n - 1))
                : Eigen::VectorXd(0);
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> t;
      t.computeFromTridiagonal(diag, sub, Eigen::EigenvaluesOnly);
      const std::vector<double> want = ReferenceEigenvalues(a.data() + m * n * n, n);
      for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(t.eigenvalues()[i], want[i], Tolerance(want));
    }
  }
}

TEST(SmallSymmetricEigenTest, BisectionFindsEveryRank) {
  // 13 matrices of n = 11, every rank of 5 and λ2, λn of the others: 71 requests (not a multiple
  // of 16), interleaved across matrices.
  const int64_t n = 11, k = 13;
  Matrices a = RandomSymmetric(k, n, 5);
  WithSpectrum({3, 3, 3, 3, 0, 0, 1, 1, 1, 2, 2}, 9, a.data());  // repeated eigenvalues
  std::vector<double> d(static_cast<size_t>(k * n)), e(d.size());
  TridiagonalizeSymmetric(a, n, d, e);
  std::vector<RankedEigenvalue> requests;
  for (int64_t rank = 1; rank <= n; ++rank) {
    for (int64_t m = 0; m < k; ++m) {
      if (m < 5 || rank == 2 || rank == n) requests.push_back({m, rank});
    }
  }
  ASSERT_NE(requests.size() % 16, 0u);
  std::vector<double> got(requests.size());
  TridiagonalEigenvaluesByRank(d, e, n, requests, got);
  for (size_t r = 0; r < requests.size(); ++r) {
    const std::vector<double> want = ReferenceEigenvalues(a.data() + requests[r].matrix * n * n, n);
    EXPECT_NEAR(got[r], want[static_cast<size_t>(requests[r].rank - 1)], Tolerance(want))
        << "matrix " << requests[r].matrix << " rank " << requests[r].rank;
  }
  // A value does not depend on the requests it shares a vector with.
  std::vector<double> alone(1);
  TridiagonalEigenvaluesByRank(d, e, n, std::span(requests).subspan(20, 1), alone);
  EXPECT_EQ(alone[0], got[20]);
}

/// Every rank of every matrix of `a` by bisection, each checked against Eigen's spectrum; the
/// values in request order (matrix-major).
std::vector<double> ExpectEveryRankMatchesEigen(const Matrices& a, int64_t n) {
  const auto nn = static_cast<size_t>(n * n);
  const auto k = static_cast<int64_t>(a.size() / nn);
  std::vector<double> d(static_cast<size_t>(k * n)), e(d.size());
  TridiagonalizeSymmetric(a, n, d, e);
  std::vector<RankedEigenvalue> requests;
  for (int64_t m = 0; m < k; ++m) {
    for (int64_t rank = 1; rank <= n; ++rank) requests.push_back({m, rank});
  }
  std::vector<double> got(requests.size());
  TridiagonalEigenvaluesByRank(d, e, n, requests, got);
  for (size_t r = 0; r < requests.size(); ++r) {
    const std::vector<double> want = ReferenceEigenvalues(a.data() + requests[r].matrix * nn, n);
    EXPECT_NEAR(got[r], want[static_cast<size_t>(requests[r].rank - 1)], Tolerance(want))
        << "n " << n << " matrix " << requests[r].matrix << " rank " << requests[r].rank;
  }
  return got;
}

// The Newton points of the bisection on what graph Laplacians produce: the complete graph
// (eigenvalue n of multiplicity n − 1), a disconnected graph (zero of multiplicity 3), a path,
// a near-cluster (λ2, λ3 1e-9 apart) and a graded spectrum; every rank of each, in one call.
TEST(SmallSymmetricEigenTest, BisectionOnClustersAndLaplacians) {
  const int64_t n = 48;
  const auto nn = static_cast<size_t>(n * n);
  Matrices a(5 * nn, 0.0);
  auto edge = [&](size_t m, int64_t i, int64_t j, double w) {
    a[m * nn + i * n + j] = a[m * nn + j * n + i] = -w;
    a[m * nn + i * n + i] += w;
    a[m * nn + j * n + j] += w;
  };
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < i; ++j) edge(0, i, j, 1.0);  // complete graph
  }
  for (int64_t i = 1; i < n; ++i) {
    if (i % 16 != 0) edge(1, i, i - 1, 0.5 + 0.01 * static_cast<double>(i));  // 3 paths
    edge(2, i, i - 1, 1.0);                                                   // one path
  }
  std::vector<double> near(static_cast<size_t>(n)), graded(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    near[i] = i == 2 ? 0.5 + 1e-9 : 0.5 * static_cast<double>(i);
    graded[i] = std::pow(2.0, -static_cast<double>(i));
  }
  WithSpectrum(near, 31, a.data() + 3 * nn);
  WithSpectrum(graded, 32, a.data() + 4 * nn);
  const std::vector<double> got = ExpectEveryRankMatchesEigen(a, n);
  EXPECT_NEAR(got[1], 48.0, 1e-12);                           // complete graph: λ2 = n
  EXPECT_NEAR(got[n + 2], 0.0, 1e-12);                        // three components: λ3 = 0
  EXPECT_GT(got[n + 3], 1e-4);                                // … and λ4 > 0
  EXPECT_NEAR(got[3 * n + 2] - got[3 * n + 1], 1e-9, 1e-13);  // the near-cluster resolved
}

TEST(SmallSymmetricEigenTest, BisectionOnTinyAndZeroMatrices) {
  for (int64_t n : {1, 2, 3}) {
    Matrices both = RandomSymmetric(2, n, static_cast<uint64_t>(40 + n));
    both.resize(both.size() + static_cast<size_t>(n * n), 0.0);  // a zero matrix too
    ExpectEveryRankMatchesEigen(both, n);
  }
}

TEST(SmallSymmetricEigenTest, SturmCountsMatchTheSpectrum) {
  const int64_t n = 20;
  Matrices a(static_cast<size_t>(n * n));
  WithSpectrum({0, 0, 0, 0.5, 0.5, 1, 2, 2, 2, 2, 3, 4, 5, 6, 7, 8, 8, 9, 10, 11}, 21, a.data());
  std::vector<double> d(static_cast<size_t>(n)), e(d.size());
  TridiagonalizeSymmetric(a, n, d, e);
  const std::vector<double> want = ReferenceEigenvalues(a.data(), n);
  for (double x : {-1.0, 0.25, 0.75, 1.5, 2.5, 8.5, 12.0}) {
    const auto below = std::count_if(want.begin(), want.end(), [&](double l) { return l < x; });
    EXPECT_EQ(CountTridiagonalEigenvaluesBelow(d.data(), e.data(), n, x), below) << x;
  }
  // Just above a triple zero (the Laplacian zero-multiplicity test).
  EXPECT_EQ(CountTridiagonalEigenvaluesBelow(d.data(), e.data(), n, 1e-12), 3);
}

TEST(SmallSymmetricEigenTest, QlOnSplitAndGradedTridiagonals) {
  // Already split (zero off-diagonals), a graded matrix and a Wilkinson W21+ matrix (pairs of
  // nearly equal eigenvalues).
  std::vector<std::pair<std::vector<double>, std::vector<double>>> cases;
  cases.push_back({{4, 1, 3, 2, 5}, {0, 0.5, 0, 0}});
  {
    std::vector<double> d, e;
    for (int i = 0; i < 12; ++i) d.push_back(std::pow(10.0, -i));
    for (int i = 0; i < 11; ++i) e.push_back(std::pow(10.0, -i - 0.5));
    cases.push_back({d, e});
  }
  {
    std::vector<double> d, e(20, 1.0);
    for (int i = 0; i < 21; ++i) d.push_back(std::abs(10.0 - i));
    cases.push_back({d, e});
  }
  for (const auto& [d0, e0] : cases) {
    const auto n = static_cast<int64_t>(d0.size());
    std::vector<double> d = d0, e = e0;
    e.push_back(0);
    TridiagonalEigenvalues(d, e);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> t;
    t.computeFromTridiagonal(Eigen::Map<const Eigen::VectorXd>(d0.data(), n),
                             Eigen::Map<const Eigen::VectorXd>(e0.data(), n - 1),
                             Eigen::EigenvaluesOnly);
    std::vector<double> want(t.eigenvalues().data(), t.eigenvalues().data() + n);
    for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(d[i], want[i], Tolerance(want)) << i;
  }
}

}  // namespace
}  // namespace sinkscope::analyzers
