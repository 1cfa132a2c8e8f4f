// The Marchenko–Pastur law (closed-form CDF and ∫F) against quadrature and scipy, and the
// KL/KS/W1 comparison on seeded Wishart spectra versus clearly non-MP spectra.
#include "analyzers/rmt/marchenko_pastur.h"

#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace sinkscope::analyzers::rmt {
namespace {

constexpr double kPi = std::numbers::pi;

MarchenkoPastur Mp(double gamma, double variance) {
  auto mp = MarchenkoPastur::Create(gamma, variance);
  EXPECT_TRUE(mp.ok()) << mp.status().ToString();
  return *mp;
}

/// ∫_a^x f(y) ρ(y) dy by the midpoint rule in t (y = c − r cos t), where the integrand is smooth.
template <typename F>
double QuadratureInT(const MarchenkoPastur& mp, double x, F f, int steps = 200000) {
  const double a = mp.lower_edge(), b = mp.upper_edge();
  const double c = 0.5 * (a + b), r = 0.5 * (b - a);
  if (x <= a) return 0.0;
  const double t_end = x >= b ? kPi : std::acos((c - x) / r);
  const double h = t_end / steps;
  double sum = 0;
  for (int k = 0; k < steps; ++k) {
    const double t = (k + 0.5) * h;
    const double y = c - r * std::cos(t);
    sum += f(y) * mp.Density(y) * r * std::sin(t);
  }
  return sum * h;
}

/// Eigenvalues of X Xᵀ/m for a seeded standard Gaussian X (n×m).
std::vector<double> WishartEigenvalues(int64_t n, int64_t m, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  at::Tensor x = at::empty({n, m}, at::kDouble);
  double* p = x.data_ptr<double>();
  for (int64_t i = 0; i < n * m; ++i) p[i] = normal(rng);
  at::Tensor ev = at::linalg_eigvalsh(at::matmul(x, x.t()) / static_cast<double>(m)).contiguous();
  return std::vector<double>(ev.data_ptr<double>(), ev.data_ptr<double>() + n);
}

MarchenkoPasturComparison Compare(const std::vector<double>& ev, double gamma,
                                  std::optional<double> variance = std::nullopt) {
  MarchenkoPasturCompareOptions o;
  o.gamma = gamma;
  o.variance = variance;
  auto r = CompareWithMarchenkoPastur(ev, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return *r;
}

TEST(MarchenkoPasturTest, EdgesAndAtomHaveTheirClosedForms) {
  MarchenkoPastur mp = Mp(0.25, 2.0);
  EXPECT_DOUBLE_EQ(mp.lower_edge(), 2.0 * 0.25);  // σ²(1−√γ)² = 2·0.5²
  EXPECT_DOUBLE_EQ(mp.upper_edge(), 2.0 * 2.25);  // σ²(1+√γ)² = 2·1.5²
  EXPECT_EQ(mp.atom(), 0.0);
  MarchenkoPastur wide = Mp(4.0, 1.0);
  EXPECT_DOUBLE_EQ(wide.lower_edge(), 1.0);
  EXPECT_DOUBLE_EQ(wide.upper_edge(), 9.0);
  EXPECT_DOUBLE_EQ(wide.atom(), 0.75);
  EXPECT_EQ(Mp(1.0, 1.0).lower_edge(), 0.0);
  EXPECT_TRUE(std::isinf(Mp(1.0, 1.0).Density(0.0)));
}

TEST(MarchenkoPasturTest, DensityIntegratesToOneMinusAtomAndMeanIsVariance) {
  for (double gamma : {0.1, 0.5, 0.99, 1.0, 2.0, 4.0}) {
    for (double variance : {1.0, 2.5}) {
      MarchenkoPastur mp = Mp(gamma, variance);
      const double mass = QuadratureInT(mp, mp.upper_edge(), [](double) { return 1.0; });
      EXPECT_NEAR(mass, 1.0 - mp.atom(), 1e-8) << gamma << " " << variance;
      const double mean = QuadratureInT(mp, mp.upper_edge(), [](double y) { return y; });
      EXPECT_NEAR(mean, variance, 1e-8 * variance) << gamma;
      // ∫₀^b F = b − E[λ] for λ ∈ [0, b]: the closed-form ∫F agrees.
      EXPECT_NEAR(mp.upper_edge() - mp.IntegratedCdf(mp.upper_edge()), variance, 1e-12 * variance);
    }
  }
}

TEST(MarchenkoPasturTest, CdfMatchesQuadratureAndScipy) {
  for (double gamma : {0.3, 1.0, 3.0}) {
    MarchenkoPastur mp = Mp(gamma, 1.5);
    for (double u : {0.01, 0.1, 0.37, 0.5, 0.8, 0.999}) {
      const double x = mp.lower_edge() + u * (mp.upper_edge() - mp.lower_edge());
      const double quad = mp.atom() + QuadratureInT(mp, x, [](double) { return 1.0; });
      EXPECT_NEAR(mp.Cdf(x), quad, 1e-9) << gamma << " " << x;
    }
  }
  // scipy.integrate.quad of ρ plus the atom (venv numpy 2.4.6 / scipy 1.17.1), quad error ≤ 1.3e-8.
  struct Case {
    double gamma, variance, x, cdf;
  };
  const Case cases[] = {{0.5, 1, 1.0, 0.576004215101848},
                        {1.0, 1, 1.0, 0.6089977810442362},
                        {2.0, 1, 1.0, 0.6591549430918473},
                        {0.25, 2, 1.5, 0.3846622287551138},
                        {1.0, 1, 0.01, 0.06363544145683316}};
  for (const auto& c : cases) {
    EXPECT_NEAR(Mp(c.gamma, c.variance).Cdf(c.x), c.cdf, 2e-8) << c.gamma << " " << c.x;
  }
}

TEST(MarchenkoPasturTest, CdfIsMonotoneBoundedAndOneAtTheUpperEdge) {
  for (double gamma : {0.2, 1.0, 2.5}) {
    MarchenkoPastur mp = Mp(gamma, 0.7);
    EXPECT_EQ(mp.Cdf(-1e-3), 0.0);
    EXPECT_DOUBLE_EQ(mp.Cdf(0.0), mp.atom());
    EXPECT_EQ(mp.Cdf(mp.upper_edge()), 1.0);
    EXPECT_EQ(mp.Cdf(2 * mp.upper_edge()), 1.0);
    double prev = 0;
    for (int k = 0; k <= 5000; ++k) {
      const double f = mp.Cdf(1.1 * mp.upper_edge() * k / 5000.0);
      EXPECT_GE(f, prev);
      EXPECT_LE(f, 1.0);
      prev = f;
    }
  }
}

TEST(MarchenkoPasturTest, CreateRejectsBadParameters) {
  const double inf = std::numeric_limits<double>::infinity();
  for (auto [g, v] : {std::pair{0.0, 1.0}, {-1.0, 1.0}, {inf, 1.0}, {1.0, 0.0}, {1.0, -2.0}}) {
    auto mp = MarchenkoPastur::Create(g, v);
    EXPECT_EQ(mp.status().code(), StatusCode::kInvalidArgument) << g << " " << v;
  }
}

TEST(MarchenkoPasturTest, SinglePointHasExactKsAndW1) {
  // One eigenvalue at 1, σ² fixed to 1, γ = 0.5: KS = max(F(1), 1 − F(1)); W1 = E|λ − 1|.
  MarchenkoPastur mp = Mp(0.5, 1.0);
  auto r = Compare({1.0}, 0.5, 1.0);
  ASSERT_TRUE(r.defined);
  EXPECT_FALSE(r.variance_fitted);
  EXPECT_NEAR(r.ks, std::max(mp.Cdf(1.0), 1 - mp.Cdf(1.0)), 1e-15);
  const double w1 = QuadratureInT(mp, mp.upper_edge(), [](double y) { return std::abs(y - 1.0); });
  EXPECT_NEAR(r.w1, w1, 1e-8);
  EXPECT_EQ(r.num_above_upper_edge, 0);
}

TEST(MarchenkoPasturTest, WishartSpectraAreCloseToTheLaw) {
  // Measured (seed 1): 200x400 KS 0.0143, W1 0.0091, KL 0.0048, σ² 1.006; 300x300 KS 0.0088,
  // W1 0.0072, KL 0.0028, σ² 1.005; 400x200 (γ = 2, atom ½ at 0) KS 0.0059, W1 0.0089,
  // KL 0.0024. Thresholds: about twice those.
  struct Case {
    int64_t n, m;
    double ks_max, w1_max, kl_max;
  };
  for (const Case& c : {Case{200, 400, 0.03, 0.02, 0.01}, Case{300, 300, 0.02, 0.015, 0.01},
                        Case{400, 200, 0.015, 0.02, 0.01}}) {
    const std::vector<double> ev = WishartEigenvalues(c.n, c.m, 1);
    const double gamma = static_cast<double>(c.n) / static_cast<double>(c.m);
    auto r = Compare(ev, gamma);
    ASSERT_TRUE(r.defined);
    EXPECT_NEAR(r.variance, 1.0, 0.02);
    EXPECT_LT(r.ks, c.ks_max) << c.n << "x" << c.m;
    EXPECT_LT(r.w1, c.w1_max) << c.n << "x" << c.m;
    EXPECT_LT(r.kl, c.kl_max) << c.n << "x" << c.m;
    EXPECT_GE(r.ks, 0.0);
    EXPECT_GT(r.w1, 0.0);

    // W1 against a brute-force midpoint integral of |F_emp − F_MP|.
    MarchenkoPastur mp = Mp(gamma, r.variance);
    std::vector<double> sorted = ev;
    std::sort(sorted.begin(), sorted.end());
    const int steps = 400000;
    const double h = r.histogram_upper / steps;
    double brute = 0;
    size_t below = 0;
    for (int k = 0; k < steps; ++k) {
      const double x = (k + 0.5) * h;
      while (below < sorted.size() && sorted[below] <= x) ++below;
      brute += std::abs(static_cast<double>(below) / static_cast<double>(c.n) - mp.Cdf(x)) * h;
    }
    EXPECT_NEAR(r.w1, brute, 1e-6) << c.n;
  }
}

TEST(MarchenkoPasturTest, NonMarchenkoPasturSpectraAreFar) {
  const int64_t n = 200;
  auto wishart = Compare(WishartEigenvalues(n, 400, 1), 0.5);
  // A rank-1 spike: n − 1 zeros and one eigenvalue n (mean 1).
  std::vector<double> spike(n, 0.0);
  spike.back() = static_cast<double>(n);
  auto s = Compare(spike, 0.5);
  // Measured: spike KS 0.995, W1 1.97; uniform KS 0.120, W1 0.148, KL 0.197 (Wishart 0.0143,
  // 0.0091, 0.0048). The spike's KL is small (0.084): its bins span [0, 200], so the whole MP bulk
  // and the 199 zeros share bin 0 — KS and W1 are the detectors for a spike.
  EXPECT_GT(s.ks, 0.9);
  EXPECT_GT(s.ks, 20 * wishart.ks);
  EXPECT_GT(s.w1, 50 * wishart.w1);
  EXPECT_EQ(s.num_above_upper_edge, 1);
  // Uniform eigenvalues on [0, 2] (mean 1) against MP with γ = 0.5.
  std::vector<double> uniform(n);
  for (int64_t i = 0; i < n; ++i) uniform[i] = 2.0 * (i + 0.5) / static_cast<double>(n);
  auto u = Compare(uniform, 0.5);
  EXPECT_GT(u.ks, 5 * wishart.ks);
  EXPECT_GT(u.w1, 10 * wishart.w1);
  EXPECT_GT(u.kl, 20 * wishart.kl);
  EXPECT_TRUE(std::isfinite(s.kl) && std::isfinite(u.kl));  // ε keeps KL finite
}

TEST(MarchenkoPasturTest, UndefinedForAnAllZeroSpectrum) {
  auto r = Compare({0.0, 0.0, -1e-18}, 1.0);
  EXPECT_FALSE(r.defined);
  EXPECT_TRUE(std::isnan(r.kl) && std::isnan(r.ks) && std::isnan(r.w1));
}

TEST(MarchenkoPasturTest, CompareRejectsBadOptions) {
  struct Case {
    MarchenkoPasturCompareOptions options;
    std::vector<double> ev;
    const char* fragment;
  };
  MarchenkoPasturCompareOptions bins, eps, gamma, var;
  bins.bins = 0;
  eps.epsilon = -1;
  gamma.gamma = 0;
  var.variance = -1.0;
  const Case cases[] = {
      {bins, {1.0}, "mp_bins"},
      {eps, {1.0}, "kl_epsilon"},
      {gamma, {1.0}, "aspect_ratio"},
      {var, {1.0}, "mp_variance"},
      {{}, {1.0, std::numeric_limits<double>::quiet_NaN()}, "not finite"},
  };
  for (const auto& c : cases) {
    auto r = CompareWithMarchenkoPastur(c.ev, c.options);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.fragment;
    EXPECT_NE(r.status().message().find(c.fragment), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace sinkscope::analyzers::rmt
