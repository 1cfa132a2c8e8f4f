// The small-matrix singular-value engine (bidiagonalization 4 at a time + LAPACK dlasq1) against
// Eigen's JacobiSVD and LAPACK's dgesdd (at::linalg_svdvals): random, causal attention-like
// (σ_min down to 1e-20), prescribed spectra (repeated, zero, rank-deficient), zero, tiny and huge
// inputs (the power-of-two scaling), odd sizes and batch sizes that are not multiples of the 4
// vector lanes. Tolerance 1e-13·n·σ₁ on every σ: all three are backward stable (errors of a few
// ε‖A‖), which is all LAPACK promises for a general matrix.
#include "analyzers/common/small_singular_values.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <Eigen/QR>
#include <Eigen/SVD>

// LAPACK's dqds, the reference for the bidiagonal stage (tests/CMakeLists.txt links LAPACK).
extern "C" void dlasq1_(const int* n, double* d, double* e, double* work, int* info);

namespace sinkscope::analyzers {
namespace {

using Matrices = std::vector<double>;  // k row-major n×n matrices
using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::vector<double> JacobiSingularValues(const double* a, int64_t n) {
  const Eigen::Map<const RowMajor> m(a, n, n);
  const Eigen::VectorXd s = Eigen::JacobiSVD<Eigen::MatrixXd>(m).singularValues();
  return {s.data(), s.data() + n};
}

std::vector<double> Compute(const Matrices& a, int64_t n) {
  const size_t k = a.size() / static_cast<size_t>(n * n);
  std::vector<double> got(k * static_cast<size_t>(n), std::numeric_limits<double>::quiet_NaN());
  SquareSingularValues(a, n, got);
  return got;
}

/// Every σ of every matrix within 1e-13·n·σ₁ of JacobiSVD's, descending and ≥ 0.
void ExpectMatchesJacobi(const Matrices& a, int64_t n, const std::string& what) {
  const size_t k = a.size() / static_cast<size_t>(n * n);
  const std::vector<double> got = Compute(a, n);
  for (size_t m = 0; m < k; ++m) {
    const std::vector<double> want = JacobiSingularValues(a.data() + m * n * n, n);
    const double tol = 1e-13 * static_cast<double>(n) * want[0];
    for (int64_t i = 0; i < n; ++i) {
      const double s = got[m * n + i];
      EXPECT_NEAR(s, want[i], tol) << what << " matrix " << m << " i " << i;
      EXPECT_GE(s, 0.0) << what << " matrix " << m << " i " << i;
      if (i > 0) {
        EXPECT_LE(s, got[m * n + i - 1]) << what << " matrix " << m << " i " << i;
      }
    }
  }
}

Matrices RandomMatrices(int64_t k, int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Matrices a(static_cast<size_t>(k * n * n));
  for (double& x : a) x = normal(rng);
  return a;
}

/// Row-stochastic causal matrices like attention with a sink: row i is a softmax over columns
/// 0..i of Gaussian logits with a bonus on column 0, so the diagonal (and σ_min) can be tiny.
Matrices CausalAttention(int64_t k, int64_t n, double sink_bonus, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 3.0);
  Matrices a(static_cast<size_t>(k * n * n), 0.0);
  for (int64_t m = 0; m < k; ++m) {
    for (int64_t r = 0; r < n; ++r) {
      double* row = a.data() + (m * n + r) * n;
      double sum = 0;
      for (int64_t c = 0; c <= r; ++c) {
        row[c] = std::exp(normal(rng) + (c == 0 ? sink_bonus : 0.0));
        sum += row[c];
      }
      for (int64_t c = 0; c <= r; ++c) row[c] /= sum;
    }
  }
  return a;
}

/// U diag(values) Vᵀ for random orthogonal U, V (Householder QR of Gaussian matrices).
void WithSingularValues(const std::vector<double>& values, uint64_t seed, double* out) {
  const auto n = static_cast<int64_t>(values.size());
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  auto orthogonal = [&] {
    Eigen::MatrixXd g(n, n);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) g(i, j) = normal(rng);
    }
    return Eigen::MatrixXd(Eigen::HouseholderQR<Eigen::MatrixXd>(g).householderQ());
  };
  const Eigen::MatrixXd u = orthogonal(), v = orthogonal();
  const Eigen::VectorXd s = Eigen::Map<const Eigen::VectorXd>(values.data(), n);
  Eigen::Map<RowMajor>(out, n, n) = u * s.asDiagonal() * v.transpose();
}

TEST(SmallSingularValuesTest, RandomMatricesMatchJacobi) {
  for (int64_t n : {1, 2, 3, 4, 5, 7, 13, 31, 48, 49}) {
    for (int64_t k : {1, 3, 4, 5, 10}) {
      ExpectMatchesJacobi(RandomMatrices(k, n, static_cast<uint64_t>(100 * n + k)), n,
                          "n=" + std::to_string(n) + " k=" + std::to_string(k));
    }
  }
}

TEST(SmallSingularValuesTest, CausalAttentionMatchesLapackGesdd) {
  const int64_t n = 48, k = 10;
  for (double bonus : {0.0, 6.0, 12.0}) {
    const Matrices a = CausalAttention(k, n, bonus, static_cast<uint64_t>(bonus) + 3);
    const std::vector<double> got = Compute(a, n);
    const at::Tensor want =
        at::linalg_svdvals(at::from_blob(const_cast<double*>(a.data()), {k, n, n}, at::kDouble))
            .contiguous();
    double smallest = 1;
    for (int64_t m = 0; m < k; ++m) {
      const double* w = want.data_ptr<double>() + m * n;
      smallest = std::min(smallest, w[n - 1]);
      for (int64_t i = 0; i < n; ++i) {
        EXPECT_NEAR(got[m * n + i], w[i], 1e-13 * n * w[0]) << "bonus " << bonus << " " << m;
      }
    }
    // The sink makes the diagonal, and with it σ_min, tiny: the case where σ from the
    // eigenvalues of MᵀM (error √ε·σ₁) would fail the tolerance above.
    if (bonus == 12.0) {
      EXPECT_LT(smallest, 1e-8);
    }
  }
}

TEST(SmallSingularValuesTest, PrescribedSpectraAreRecovered) {
  const std::vector<std::vector<double>> spectra = {
      {5, 4, 3, 2, 1, 0.5, 0.25, 0.125},
      {1, 1, 1, 1, 1e-9, 1e-9, 0, 0},       // repeated, tiny, rank 6
      {3, 3, 3, 3, 3, 3, 3, 3},             // 3·orthogonal
      {1e3, 1, 1e-3, 1e-6, 1e-9, 0, 0, 0},  // graded
      {2, 0, 0, 0, 0, 0, 0, 0},             // rank 1
  };
  const int64_t n = 8;
  Matrices a(spectra.size() * n * n);
  for (size_t m = 0; m < spectra.size(); ++m) {
    WithSingularValues(spectra[m], 40 + m, a.data() + m * n * n);
  }
  const std::vector<double> got = Compute(a, n);
  for (size_t m = 0; m < spectra.size(); ++m) {
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_NEAR(got[m * n + i], spectra[m][i], 1e-13 * n * spectra[m][0]) << m << " " << i;
    }
  }
  ExpectMatchesJacobi(a, n, "prescribed");
}

TEST(SmallSingularValuesTest, ZeroDiagonalAndPermutationMatrices) {
  const int64_t n = 6;
  const auto nn = static_cast<size_t>(n * n);
  Matrices a(3 * nn, 0.0);  // 0: zero matrix
  for (int64_t i = 0; i < n; ++i) {
    a[nn + i * n + i] = static_cast<double>((i * 5) % 7) - 3;      // 1: diagonal, signs, a zero
    a[2 * nn + i * n + (i + 2) % n] = static_cast<double>(i + 1);  // 2: scaled permutation
  }
  const std::vector<double> got = Compute(a, n);
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(got[i], 0.0) << i;
  const std::vector<double> diagonal = {3, 3, 2, 2, 1, 0};  // |{-3, 2, 0, -2, 3, 1}| sorted
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_NEAR(got[n + i], diagonal[i], 1e-14) << i;
    EXPECT_NEAR(got[2 * n + i], static_cast<double>(n - i), 1e-14) << i;
  }
}

TEST(SmallSingularValuesTest, HugeAndTinyMatricesAreScaledExactly) {
  const int64_t n = 7, k = 5;
  const Matrices base = RandomMatrices(1, n, 9);
  const std::vector<double> want = JacobiSingularValues(base.data(), n);
  // Entries whose squares overflow (2^600), underflow (2^-600), are subnormal (2^-1060), sit at
  // the edge of the range (2^1000), or need no scaling (1).
  const std::vector<int> exponents = {600, -600, -1060, 1000, 0};
  Matrices a;
  for (int e : exponents) {
    for (double x : base) a.push_back(std::ldexp(x, e));
  }
  const std::vector<double> got = Compute(a, n);
  for (int64_t m = 0; m < k; ++m) {
    // Subnormal entries keep fewer bits: their σ are compared at the precision they carry.
    const double rel = exponents[m] < -1000 ? 1e-3 : 1e-13 * n;
    for (int64_t i = 0; i < n; ++i) {
      const double s = std::ldexp(got[m * n + i], -exponents[m]);
      EXPECT_TRUE(std::isfinite(s)) << exponents[m] << " " << i;
      EXPECT_NEAR(s, want[i], rel * want[0]) << exponents[m] << " " << i;
    }
  }
}

TEST(SmallSingularValuesTest, AMatrixDoesNotDependOnItsLaneMates) {
  const int64_t n = 13;
  const Matrices batch = RandomMatrices(6, n, 21);
  const std::vector<double> together = Compute(batch, n);
  for (int64_t m = 0; m < 6; ++m) {
    const Matrices alone(batch.begin() + m * n * n, batch.begin() + (m + 1) * n * n);
    const std::vector<double> single = Compute(alone, n);
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(single[i], together[m * n + i]) << m << " " << i;
  }
}

/// σ of one bidiagonal by LAPACK dlasq1.
std::vector<double> LapackBidiagonal(std::vector<double> d, std::vector<double> e) {
  const int n = static_cast<int>(d.size());
  std::vector<double> work(4 * d.size());
  e.resize(d.size(), 0.0);
  int info = 0;
  dlasq1_(&n, d.data(), e.data(), work.data(), &info);
  EXPECT_EQ(info, 0);
  return d;
}

// The dqds stage alone has high relative accuracy, like dlasq1: every σ above 1e-150 within
// 1e-12 relative of LAPACK's, also on graded bidiagonals (either way up), with zero
// diagonal entries (σ = 0, at the top, middle and bottom), zero superdiagonal entries (splits),
// negative entries, ties, and squares that underflow.
TEST(SmallSingularValuesTest, BidiagonalDqdsMatchesLapackRelatively) {
  std::vector<std::pair<std::vector<double>, std::vector<double>>> cases;
  std::mt19937_64 rng(77);
  std::normal_distribution<double> normal;
  for (int64_t n : {1, 2, 3, 5, 8, 17, 48}) {
    std::vector<double> d(n), e(n - 1);
    for (double& x : d) x = normal(rng);
    for (double& x : e) x = normal(rng);
    cases.emplace_back(d, e);
  }
  {
    const int64_t n = 40;  // graded: 10^-5k
    std::vector<double> d(n), e(n - 1);
    for (int64_t i = 0; i < n; ++i) d[i] = std::pow(10.0, -5.0 * static_cast<double>(i));
    for (int64_t i = 0; i + 1 < n; ++i) e[i] = 0.7 * std::pow(10.0, -5.0 * static_cast<double>(i));
    cases.emplace_back(d, e);
    std::reverse(d.begin(), d.end());  // graded the other way
    std::reverse(e.begin(), e.end());
    cases.emplace_back(d, e);
  }
  cases.push_back({{1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 1}});  // Toeplitz
  cases.push_back({{0, 2, 3, 4, 5}, {1, 1, 1, 1}});                    // zero at the top
  cases.push_back({{2, 3, 0, 4, 5}, {1, 1, 1, 1}});                    // zero in the middle
  cases.push_back({{2, 3, 4, 5, 0}, {1, 1, 1, 1}});                    // zero at the bottom
  cases.push_back({{0, 0, 0, 0}, {1, 2, 3}});                          // all-zero diagonal
  cases.push_back({{1, -2, 3, -4, 5, -6}, {0.5, 0, -0.25, 0, 1}});     // splits, signs
  cases.push_back({{3, 3, 3, 3}, {0, 0, 0}});                          // diagonal, ties
  cases.push_back({{1, 1e-170, 1, 1e-170}, {1e-170, 1, 1e-200}});      // underflowing squares
  cases.push_back({{0, 0, 0}, {0, 0}});                                // zero
  for (size_t c = 0; c < cases.size(); ++c) {
    const auto& [d, e] = cases[c];
    const std::vector<double> want = LapackBidiagonal(d, e);
    // Alone and as lane 2 of a batch of 3 (others: the case before it and a random one).
    std::vector<double> dg = d, sd = e;
    sd.resize(d.size(), 0.0);
    BidiagonalSingularValues(dg, sd, static_cast<int64_t>(d.size()));
    for (size_t i = 0; i < d.size(); ++i) {
      // Squares below the smallest normal double (σ < 2⁻⁵¹¹ ≈ 1.5e-154) underflow: there only
      // absolute accuracy (far below ε·σ₁ here).
      EXPECT_NEAR(dg[i], want[i], want[i] > 1e-150 ? 1e-12 * want[i] : 1e-150)
          << "case " << c << " i " << i;
    }
  }
}

TEST(SmallSingularValuesTest, BidiagonalBatchesMatchSingleCalls) {
  const int64_t n = 23, k = 7;  // 4 + 3 lanes
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal;
  std::vector<double> d(k * n), e(k * n, 0.0);
  for (double& x : d) x = normal(rng);
  for (int64_t m = 0; m < k; ++m) {
    for (int64_t i = 0; i + 1 < n; ++i) e[m * n + i] = m == 3 && i == 10 ? 0.0 : normal(rng);
  }
  std::vector<double> batch_d = d, batch_e = e;
  BidiagonalSingularValues(batch_d, batch_e, n);
  for (int64_t m = 0; m < k; ++m) {
    std::vector<double> one_d(d.begin() + m * n, d.begin() + (m + 1) * n);
    std::vector<double> one_e(e.begin() + m * n, e.begin() + (m + 1) * n);
    BidiagonalSingularValues(one_d, one_e, n);
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(one_d[i], batch_d[m * n + i]) << m << " " << i;
  }
}

TEST(SmallSingularValuesTest, BidiagonalHasTheMatrixSingularValues) {
  const int64_t n = 11, k = 3;
  const Matrices a = RandomMatrices(k, n, 5);
  std::vector<double> d(k * n), e(k * n);
  BidiagonalizeSquare(a, n, d, e);
  for (int64_t m = 0; m < k; ++m) {
    EXPECT_EQ(e[m * n + n - 1], 0.0);
    Eigen::MatrixXd b = Eigen::MatrixXd::Zero(n, n);
    for (int64_t i = 0; i < n; ++i) {
      b(i, i) = d[m * n + i];
      if (i + 1 < n) b(i, i + 1) = e[m * n + i];
    }
    const Eigen::VectorXd got = Eigen::JacobiSVD<Eigen::MatrixXd>(b).singularValues();
    const std::vector<double> want = JacobiSingularValues(a.data() + m * n * n, n);
    for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(got[i], want[i], 1e-13 * n * want[0]) << m;
  }
}

}  // namespace
}  // namespace sinkscope::analyzers
