// CORRECTED rmt (spec topology-spectral §8.6, 8.7, 8.9): singular-value metrics on matrices with
// known spectra, sink top-k and row entropy closed forms, the standardization for the MP fit,
// head selection, non-finite input, n = 1 and n = 2, and the error table.
#include "analyzers/rmt/rmt.h"

#include <cmath>
#include <limits>
#include <numbers>
#include <random>

#include <gtest/gtest.h>

namespace sinkscope::analyzers::rmt {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

RmtMatrixResult Single(const at::Tensor& a, RmtOptions o = {}) {
  o.heads = HeadSelection::kHeadMean;
  auto r = ComputeRmt(a, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->matrices.size(), 1u);
  return r->matrices[0];
}

at::Tensor UniformCausal(int64_t n) {
  at::Tensor a = at::zeros({n, n}, at::kDouble);
  for (int64_t i = 0; i < n; ++i) a[i].narrow(0, 0, i + 1).fill_(1.0 / static_cast<double>(i + 1));
  return a;
}

/// Row-stochastic softmax of seeded Gaussian logits, optionally causal.
at::Tensor RandomAttention(int64_t n, uint64_t seed, bool causal) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  at::Tensor logits = at::empty({n, n}, at::kDouble);
  double* p = logits.data_ptr<double>();
  for (int64_t i = 0; i < n * n; ++i) p[i] = normal(rng);
  if (causal) {
    logits = logits.masked_fill(at::ones({n, n}, at::kBool).triu(1),
                                -std::numeric_limits<double>::infinity());
  }
  return at::softmax(logits, 1);
}

TEST(RmtTest, IdentityAndPermutationHaveFlatSpectra) {
  const int64_t n = 6;
  at::Tensor perm = at::eye(n, at::kDouble).index_select(0, at::tensor({3, 0, 5, 1, 4, 2}));
  for (const at::Tensor& m : {at::eye(n, at::kDouble), perm}) {
    const RmtMatrixResult r = Single(m);
    ASSERT_EQ(r.singular_values.size(), static_cast<size_t>(n));
    for (double s : r.singular_values) EXPECT_NEAR(s, 1.0, 1e-12);
    EXPECT_NEAR(r.spectral_gap_ratio, 1.0, 1e-12);
    EXPECT_NEAR(r.singular_gap_difference, 0.0, 1e-12);
    EXPECT_NEAR(r.participation_ratio, static_cast<double>(n), 1e-10);
    EXPECT_NEAR(r.stable_rank, static_cast<double>(n), 1e-10);
    // Column sums all 1: k = ⌈0.6⌉ = 1 column, the lowest index among the ties.
    EXPECT_EQ(r.sink_top_k, 1);
    EXPECT_EQ(r.sink_top_column, 0);
    EXPECT_DOUBLE_EQ(r.sink_concentration, 1.0 / n);
    EXPECT_DOUBLE_EQ(r.sink_top_column_share, 1.0 / n);
    EXPECT_EQ(r.mean_row_entropy_bits, 0.0);  // 0·log 0 = 0, 1·log 1 = 0
  }
}

TEST(RmtTest, RandomOrthogonalMatrixHasUnitSingularValues) {
  at::Tensor q = std::get<0>(at::linalg_qr(RandomAttention(9, 3, false)));
  const RmtMatrixResult r = Single(q);
  EXPECT_NEAR(r.spectral_gap_ratio, 1.0, 1e-12);
  EXPECT_NEAR(r.participation_ratio, 9.0, 1e-10);
  EXPECT_NEAR(r.stable_rank, 9.0, 1e-10);
}

TEST(RmtTest, TwoByTwoCausalHasGoldenRatioGap) {
  // M = [[1, 0], [½, ½]]: M Mᵀ = [[1, ½], [½, ½]] has eigenvalues (3 ± √5)/4, so
  // σ1/σ2 = √((3+√5)/(3−√5)) = φ² = (3+√5)/2, PR = (3/2)²/((9+5)/8) = 9/7, stable rank
  // = (3/2)/((3+√5)/4) = 6/(3+√5).
  at::Tensor m = at::tensor({1.0, 0.0, 0.5, 0.5}, at::kDouble).view({2, 2});
  const RmtMatrixResult r = Single(m);
  const double s5 = std::sqrt(5.0);
  EXPECT_NEAR(r.spectral_gap_ratio, (3 + s5) / 2, 1e-12);
  EXPECT_NEAR(r.singular_gap_difference, std::sqrt((3 + s5) / 4) - std::sqrt((3 - s5) / 4), 1e-12);
  EXPECT_NEAR(r.participation_ratio, 9.0 / 7.0, 1e-12);
  EXPECT_NEAR(r.stable_rank, 6 / (3 + s5), 1e-12);
  // Causal: the upper entry is masked; μ and s over {1, ½, ½}.
  EXPECT_TRUE(r.causal);
  EXPECT_EQ(r.num_unmasked, 3);
  EXPECT_NEAR(r.standardize_mean, 2.0 / 3.0, 1e-15);
  EXPECT_NEAR(r.standardize_std, std::sqrt(1.0 / 18.0), 1e-15);
  // Column sums 1.5 and 0.5: k = 1, share 0.75; row entropies 0 and 1 bit.
  EXPECT_DOUBLE_EQ(r.sink_concentration, 0.75);
  EXPECT_EQ(r.sink_top_column, 0);
  EXPECT_DOUBLE_EQ(r.mean_row_entropy_bits, 0.5);
  EXPECT_TRUE(r.mp.defined);
  EXPECT_EQ(r.mp_eigenvalues.size(), 2u);
}

TEST(RmtTest, OneByOneIsDefined) {
  const RmtMatrixResult r = Single(at::ones({1, 1}, at::kDouble));
  ASSERT_TRUE(r.valid);
  EXPECT_EQ(r.singular_values, std::vector<double>{1.0});
  EXPECT_TRUE(std::isnan(r.spectral_gap_ratio));  // no σ2
  EXPECT_TRUE(std::isnan(r.singular_gap_difference));
  EXPECT_EQ(r.participation_ratio, 1.0);
  EXPECT_EQ(r.stable_rank, 1.0);
  EXPECT_EQ(r.sink_top_k, 1);
  EXPECT_EQ(r.sink_concentration, 1.0);
  EXPECT_EQ(r.mean_row_entropy_bits, 0.0);
  EXPECT_EQ(r.standardize_std, 0.0);
  EXPECT_FALSE(r.mp.defined);
  EXPECT_TRUE(std::isnan(r.mp.kl) && std::isnan(r.mp.ks) && std::isnan(r.mp.w1));
}

TEST(RmtTest, ZeroSecondSingularValueGivesInfiniteRatio) {
  at::Tensor m = at::zeros({2, 2}, at::kDouble);
  m[0][0] = 1.0;
  const RmtMatrixResult r = Single(m);
  EXPECT_EQ(r.spectral_gap_ratio, std::numeric_limits<double>::infinity());
  EXPECT_EQ(r.singular_gap_difference, 1.0);
  EXPECT_EQ(r.participation_ratio, 1.0);
  EXPECT_EQ(r.stable_rank, 1.0);
}

TEST(RmtTest, ConstantMatrixHasNoMarchenkoPasturComparison) {
  // Uniform bidirectional 1/n: Z = 0 exactly (shifted moments), so the fit is undefined.
  const RmtMatrixResult r = Single(at::full({8, 8}, 1.0 / 8, at::kDouble));
  EXPECT_FALSE(r.causal);
  EXPECT_EQ(r.standardize_std, 0.0);
  EXPECT_FALSE(r.mp.defined);
  EXPECT_DOUBLE_EQ(r.mean_row_entropy_bits, 3.0);
  EXPECT_DOUBLE_EQ(r.sink_concentration, 1.0 / 8);  // k = 1: no tie inflation
  EXPECT_NEAR(r.stable_rank, 1.0, 1e-12);
  EXPECT_GT(r.spectral_gap_ratio, 1e12);  // rank 1: σ2 is round-off
}

TEST(RmtTest, UniformCausalEntropyAndSinkClosedForms) {
  // Row i holds i+1 entries 1/(i+1): H_i = log2(i+1). Column j sums to Σ_{i≥j} 1/(i+1).
  const int64_t n = 30;
  const RmtMatrixResult r = Single(UniformCausal(n));
  double h = 0, total = 0;
  std::vector<double> col(n, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    h += std::log2(static_cast<double>(i + 1));
    for (int64_t j = 0; j <= i; ++j) col[j] += 1.0 / static_cast<double>(i + 1);
  }
  for (double c : col) total += c;
  EXPECT_NEAR(r.mean_row_entropy_bits, h / n, 1e-12);
  EXPECT_EQ(r.sink_top_k, 3);  // ⌈0.1·30⌉ = 3, not 4 from 3.0000000000000004
  EXPECT_NEAR(r.sink_concentration, (col[0] + col[1] + col[2]) / total, 1e-12);
  EXPECT_NEAR(r.sink_top_column_share, col[0] / total, 1e-12);
  EXPECT_TRUE(r.causal);
  EXPECT_EQ(r.num_unmasked, n * (n + 1) / 2);
  EXPECT_EQ(Single(UniformCausal(31)).sink_top_k, 4);
  EXPECT_EQ(Single(UniformCausal(5)).sink_top_k, 1);
}

TEST(RmtTest, FittedVarianceIsTheUnmaskedFraction) {
  // ΣZ² = number of unmasked entries, so the mean eigenvalue of Z Zᵀ/n is N_u/n²: 1 for dense
  // matrices, (n+1)/(2n) for causal ones.
  const int64_t n = 40;
  const RmtMatrixResult dense = Single(RandomAttention(n, 5, false));
  EXPECT_FALSE(dense.causal);
  EXPECT_NEAR(dense.mp.variance, 1.0, 1e-12);
  const RmtMatrixResult causal = Single(RandomAttention(n, 5, true));
  EXPECT_TRUE(causal.causal);
  EXPECT_NEAR(causal.mp.variance, (n + 1.0) / (2.0 * n), 1e-12);
  EXPECT_TRUE(causal.mp.variance_fitted);
  // Forcing the dense rule on a causal matrix counts the zeros too.
  RmtOptions o;
  o.causal_mask = CausalMask::kDense;
  const RmtMatrixResult forced = Single(RandomAttention(n, 5, true), o);
  EXPECT_FALSE(forced.causal);
  EXPECT_EQ(forced.num_unmasked, n * n);
  // A fixed σ² and γ are used as given.
  o.mp_variance = 2.0;
  o.aspect_ratio = 0.5;
  const RmtMatrixResult fixed = Single(RandomAttention(n, 5, false), o);
  EXPECT_EQ(fixed.mp.variance, 2.0);
  EXPECT_FALSE(fixed.mp.variance_fitted);
  EXPECT_EQ(fixed.mp.gamma, 0.5);
  EXPECT_DOUBLE_EQ(fixed.mp.upper_edge, 2.0 * std::pow(1 + std::sqrt(0.5), 2));
}

TEST(RmtTest, DenseRandomAttentionIsNearMarchenkoPastur) {
  // Softmax of i.i.d. Gaussian logits, standardized: roughly MP(γ = 1) (the entries are skewed,
  // so not exactly). Measured (n = 200, seed 9): KS 0.0236, W1 0.0500, KL 0.267; the uniform
  // causal matrix: KS 0.722, W1 0.834, KL 0.425, 6 eigenvalues above b.
  const RmtMatrixResult r = Single(RandomAttention(200, 9, false));
  EXPECT_LT(r.mp.ks, 0.05);
  EXPECT_LT(r.mp.w1, 0.1);
  const RmtMatrixResult c = Single(UniformCausal(200));
  EXPECT_GT(c.mp.ks, 10 * r.mp.ks);
  EXPECT_GT(c.mp.w1, 8 * r.mp.w1);
  EXPECT_GT(c.mp.num_above_upper_edge, 0);
}

TEST(RmtTest, PermutationInvariance) {
  at::Tensor a = RandomAttention(12, 17, false);
  at::Tensor p =
      at::eye(12, at::kDouble).index_select(0, at::tensor({7, 2, 11, 0, 5, 9, 1, 3, 10, 4, 8, 6}));
  const RmtMatrixResult r = Single(a);
  const RmtMatrixResult s = Single(at::matmul(at::matmul(p, a), p.t()));
  EXPECT_NEAR(r.spectral_gap_ratio, s.spectral_gap_ratio, 1e-10);
  EXPECT_NEAR(r.participation_ratio, s.participation_ratio, 1e-10);
  EXPECT_NEAR(r.stable_rank, s.stable_rank, 1e-10);
  EXPECT_NEAR(r.mean_row_entropy_bits, s.mean_row_entropy_bits, 1e-12);
  EXPECT_NEAR(r.sink_concentration, s.sink_concentration, 1e-12);
  EXPECT_NEAR(r.mp.ks, s.mp.ks, 1e-9);
  EXPECT_NEAR(r.mp.w1, s.mp.w1, 1e-9);
}

TEST(RmtTest, PerHeadAndMeanInOrderAndNonFiniteHeadsInvalid) {
  at::Tensor heads = at::stack(
      {RandomAttention(7, 1, true), RandomAttention(7, 2, true), RandomAttention(7, 3, true)});
  auto all = ComputeRmt(heads);  // default: every head, then the mean
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->matrices.size(), 4u);
  EXPECT_EQ(all->num_heads, 3);
  EXPECT_EQ(all->matrices[0].head, 0);
  EXPECT_EQ(all->matrices[2].head, 2);
  EXPECT_EQ(all->matrices[3].head, kHeadMean);
  const RmtMatrixResult mean = Single(heads.mean(0));
  EXPECT_NEAR(all->matrices[3].stable_rank, mean.stable_rank, 1e-12);
  EXPECT_NEAR(all->matrices[1].stable_rank, Single(heads[1]).stable_rank, 1e-12);

  heads[1][2][0] = kNaN;
  heads[1][4][4] = std::numeric_limits<double>::infinity();
  auto bad = ComputeRmt(heads);
  ASSERT_TRUE(bad.ok());
  const RmtMatrixResult& h1 = bad->matrices[1];
  EXPECT_FALSE(h1.valid);
  EXPECT_EQ(h1.health.num_nan, 1);
  EXPECT_EQ(h1.health.num_posinf, 1);
  EXPECT_TRUE(std::isnan(h1.stable_rank) && std::isnan(h1.mp.ks) &&
              std::isnan(h1.sink_concentration));
  EXPECT_TRUE(h1.singular_values.empty());
  EXPECT_FALSE(bad->matrices[3].valid);  // the mean contains the NaN
  ASSERT_TRUE(bad->matrices[0].valid && bad->matrices[2].valid);
  EXPECT_NEAR(bad->matrices[2].stable_rank, all->matrices[2].stable_rank, 1e-12);
  EXPECT_NEAR(bad->matrices[0].mp.w1, all->matrices[0].mp.w1, 1e-12);
}

TEST(RmtTest, RejectsBadShapesOptionsAndSizes) {
  struct Case {
    at::Tensor input;
    RmtOptions options;
    StatusCode code;
    const char* fragment;
  };
  RmtOptions gamma, variance, bins, eps, frac, max_n, max_el;
  gamma.aspect_ratio = -1.0;
  variance.mp_variance = 0.0;
  bins.mp_bins = 0;
  eps.kl_epsilon = kNaN;
  frac.sink_top_fraction = 0.0;
  max_n.max_n = 3;
  max_el.max_elements = 20;
  const at::Tensor ok = at::eye(4, at::kDouble);
  const Case cases[] = {
      {at::zeros({3, 4}), {}, StatusCode::kInvalidArgument, "must be square, got shape [3, 4]"},
      {at::zeros({2, 2, 2, 2}), {}, StatusCode::kInvalidArgument, "[heads, n, n]"},
      {at::zeros({0, 0}), {}, StatusCode::kInvalidArgument, "is empty"},
      {at::zeros({3, 3}, at::kLong), {}, StatusCode::kInvalidArgument, "floating point"},
      {ok, gamma, StatusCode::kInvalidArgument, "aspect_ratio"},
      {ok, variance, StatusCode::kInvalidArgument, "mp_variance"},
      {ok, bins, StatusCode::kInvalidArgument, "mp_bins"},
      {ok, eps, StatusCode::kInvalidArgument, "kl_epsilon"},
      {ok, frac, StatusCode::kInvalidArgument, "sink_top_fraction"},
      {ok, max_n, StatusCode::kResourceExhausted, "max_n = 3"},
      {at::zeros({2, 4, 4}), max_el, StatusCode::kResourceExhausted, "max_elements"},
  };
  for (const auto& c : cases) {
    auto r = ComputeRmt(c.input, c.options);
    EXPECT_EQ(r.status().code(), c.code) << c.fragment;
    EXPECT_NE(r.status().message().find(c.fragment), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(ParseCausalMask("sideways").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParseCausalMask("causal"), CausalMask::kCausal);
}

}  // namespace
}  // namespace sinkscope::analyzers::rmt
