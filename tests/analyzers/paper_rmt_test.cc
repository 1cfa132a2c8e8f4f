// PAPER rmt (rmt.ipynb §4.2): the golden vectors of spec Appendix B
// (tests/fixtures/analyzers/golden_topology_spectral.json, 1e-6 relative), the closed forms of
// uniform causal attention, and the numpy/scipy helpers against values numpy printed.
#include "analyzers/rmt/paper_rmt.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "analyzers/rmt/rmt.h"
#include "analyzers/stats/descriptive.h"
#include "analyzers/stats/numpy_semantics.h"
#include "tests/support/test_support.h"

namespace sinkscope::analyzers::rmt {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// ----- the synthetic matrices of ref_impl_topology_spectral.py, built in double, then float32

at::Tensor UniformCausal(int64_t n) {
  at::Tensor a = at::zeros({n, n}, at::kDouble);
  for (int64_t i = 0; i < n; ++i) a[i].narrow(0, 0, i + 1).fill_(1.0 / static_cast<double>(i + 1));
  return a;
}

at::Tensor SinkCausal(int64_t n, double s) {
  at::Tensor a = UniformCausal(n) * (1 - s);
  a.select(1, 0).add_(s);
  a[0][0] = 1.0;
  return a;
}

at::Tensor UniformBidir(int64_t n) {
  return at::full({n, n}, 1.0 / static_cast<double>(n), at::kDouble);
}

at::Tensor SinkBidir(int64_t n, double s) {
  at::Tensor a = at::full({n, n}, (1 - s) / static_cast<double>(n), at::kDouble);
  a.select(1, 0).add_(s);
  return a;
}

at::Tensor LocalBidir(int64_t n, double s, double beta) {
  at::Tensor i = at::arange(n, at::kDouble).view({-1, 1});
  at::Tensor j = at::arange(n, at::kDouble).view({1, -1});
  at::Tensor k = at::exp(-beta * (i - j).abs());
  k = k / k.sum(1, true);
  at::Tensor a = (1 - s) * k;
  a.select(1, 0).add_(s);
  return a;
}

at::Tensor RingBidir(int64_t n, double self_w, double nb_w) {
  at::Tensor a =
      at::full({n, n}, (1 - self_w - 2 * nb_w) / static_cast<double>(n - 3), at::kDouble);
  for (int64_t i = 0; i < n; ++i) {
    a[i][i] = self_w;
    a[i][(i + 1) % n] = nb_w;
    a[i][(i - 1 + n) % n] = nb_w;
  }
  return a;
}

std::map<std::string, at::Tensor> GoldenCases() {
  return {{"uniform_causal_n10", UniformCausal(10)},
          {"uniform_causal_n40", UniformCausal(40)},
          {"sink_causal_n12_s0.6", SinkCausal(12, 0.6)},
          {"sink_causal_n40_s0.9", SinkCausal(40, 0.9)},
          {"uniform_bidir_n8", UniformBidir(8)},
          {"sink_bidir_n8_s0.5", SinkBidir(8, 0.5)},
          {"local_bidir_n12_s0.3", LocalBidir(12, 0.3, 1.0)},
          {"local_bidir_n40_s0.0_beta0.5", LocalBidir(40, 0.0, 0.5)},
          {"ring_bidir_n8_self0.1_nb0.35", RingBidir(8, 0.1, 0.35)},
          {"ring_bidir_n12_self0.3_nb0.3", RingBidir(12, 0.3, 0.3)}};
}

/// The golden JSON as Python's json.dump wrote it (bare Infinity/NaN made strings first).
nlohmann::json LoadGolden() {
  const std::string text =
      testing::ReadFile(testing::FixturesDir() / "analyzers" / "golden_topology_spectral.json");
  const std::string fixed =
      std::regex_replace(std::regex_replace(text, std::regex(R"(-Infinity\b)"), "\"-inf\""),
                         std::regex(R"((^|[^"-])\b(Infinity|NaN)\b)"), "$1\"$2\"");
  return nlohmann::json::parse(fixed);
}

double GoldenNumber(const nlohmann::json& v) {
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "Infinity") return kInf;
    if (s == "-inf") return -kInf;
    return std::numeric_limits<double>::quiet_NaN();
  }
  return v.get<double>();
}

void ExpectRel(double got, double want, const std::string& what) {
  if (std::isinf(want)) {
    EXPECT_EQ(got, want) << what;
  } else if (want == 0) {
    EXPECT_NEAR(got, 0.0, 1e-9) << what;
  } else {
    EXPECT_NEAR(got, want, 1e-6 * std::abs(want)) << what;
  }
}

PaperRmtMatrixResult PaperOf(const at::Tensor& a) {
  auto r = ComputePaperRmt(a.to(at::kFloat));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->matrices.size(), 1u);
  return r->matrices[0];
}

TEST(PaperRmtTest, MatchesEveryStableGoldenValue) {
  const nlohmann::json golden = LoadGolden();
  int checked = 0;
  for (const auto& [name, a] : GoldenCases()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(golden.contains(name));
    const nlohmann::json& g = golden[name]["rmt"];
    const PaperRmtMatrixResult r = PaperOf(a);
    ASSERT_TRUE(r.valid);
    const bool rank_one = name == "uniform_bidir_n8" || name == "sink_bidir_n8_s0.5";
    // Spec Appendix B: rank-1 gaps are ≈ 1/ε_machine (rounding-dependent); the n = 8 ring's
    // sink concentration is tie-sensitive (checked separately below).
    if (!rank_one) {
      ExpectRel(r.paper_spectral_gap, GoldenNumber(g["spectral_gap"]), "spectral_gap");
      ++checked;
    }
    if (name != "ring_bidir_n8_self0.1_nb0.35") {
      ExpectRel(r.paper_sink_concentration, GoldenNumber(g["sink_concentration"]), "sink");
      ++checked;
    }
    ExpectRel(r.paper_entropy, GoldenNumber(g["entropy"]), "entropy");
    ExpectRel(r.paper_participation_ratio, GoldenNumber(g["participation_ratio"]), "pr");
    ExpectRel(r.paper_stable_rank, GoldenNumber(g["stable_rank"]), "stable_rank");
    ExpectRel(r.paper_marchenko_pastur_kl, GoldenNumber(g["marchenko_pastur_kl"]), "mp_kl");
    checked += 4;
  }
  EXPECT_EQ(checked, 10 * 4 + 8 + 9);
}

TEST(PaperRmtTest, CorrectedAgreesWithGoldenWhereDefinitionsCoincide) {
  // Stable rank (Σσ²/σ1²) and mean row entropy have the same definition in both modes (the
  // 1e-10 inside PAPER's log moves these values by < 1e-8); CORRECTED computes them in float64
  // from the same float32 matrix, so it must land within 1e-6 of the golden values.
  const nlohmann::json golden = LoadGolden();
  for (const auto& [name, a] : GoldenCases()) {
    SCOPED_TRACE(name);
    RmtOptions o;
    o.heads = HeadSelection::kHeadMean;
    auto r = ComputeRmt(a.to(at::kFloat), o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const nlohmann::json& g = golden[name]["rmt"];
    ExpectRel(r->matrices[0].stable_rank, GoldenNumber(g["stable_rank"]), "stable_rank");
    ExpectRel(r->matrices[0].mean_row_entropy_bits, GoldenNumber(g["entropy"]), "entropy");
  }
}

TEST(PaperRmtTest, RankOneGapIsHugeAndTiedSinkIsStable) {
  // Rank 1: the second eigenvalue is round-off, so the gap is only "enormous" (≥ 1/ε_float).
  EXPECT_GT(PaperOf(UniformBidir(8)).paper_spectral_gap, 1e7);
  EXPECT_GT(PaperOf(SinkBidir(8, 0.5)).paper_spectral_gap, 1e7);
  // Ring n = 8: every column sum is 1 up to float32 rounding, so which columns pass the 90th
  // percentile depends on the last bit (golden: 1.0, all tied). Stable: at least the top column
  // passes, so the value is ≥ 1/8, and at most 1.
  const double ring = PaperOf(RingBidir(8, 0.1, 0.35)).paper_sink_concentration;
  EXPECT_GE(ring, 1.0 / 8 - 1e-6);
  EXPECT_LE(ring, 1.0 + 1e-6);
  // Uniform bidirectional: exactly tied columns all pass (the §8.9 inflation).
  EXPECT_DOUBLE_EQ(PaperOf(UniformBidir(8)).paper_sink_concentration, 1.0);
}

TEST(PaperRmtTest, UniformCausalClosedForms) {
  // M_ij = 1/(i+1): eigenvalues = diagonal 1, 1/2, …, 1/n; gap 2; PR = H_n² / Σ k⁻²;
  // MP-KL of the top 10 = 0.826731 for every n ≥ 10 (spec §4.2).
  for (int64_t n : {10, 16, 33, 64}) {
    double h = 0, h2 = 0;
    for (int64_t k = 1; k <= n; ++k) {
      h += 1.0 / static_cast<double>(k);
      h2 += 1.0 / static_cast<double>(k * k);
    }
    const PaperRmtMatrixResult r = PaperOf(UniformCausal(n));
    EXPECT_DOUBLE_EQ(r.paper_spectral_gap, 2.0) << n;
    EXPECT_NEAR(r.paper_participation_ratio, h * h / h2, 2e-6 * h * h / h2) << n;
    EXPECT_NEAR(r.paper_marchenko_pastur_kl, 0.826731, 1e-6) << n;
    ASSERT_EQ(r.paper_top_eigenvalue_magnitudes.size(), 10u);
    EXPECT_DOUBLE_EQ(r.paper_top_eigenvalue_magnitudes[0], 1.0);
    EXPECT_FLOAT_EQ(static_cast<float>(r.paper_top_eigenvalue_magnitudes[9]), 0.1f);
  }
}

TEST(PaperRmtTest, SmallSizesAreDefined) {
  // n = 1: the notebook's s[1] would raise; the gap is NaN, PR and stable rank 1, KL NaN (< 2
  // values), sink 1, entropy −1·log2(1 + 1e-10) ≈ 0.
  at::Tensor one = at::ones({1, 1});
  const PaperRmtMatrixResult r1 = PaperOf(one);
  EXPECT_TRUE(std::isnan(r1.paper_spectral_gap));
  EXPECT_DOUBLE_EQ(r1.paper_participation_ratio, 1.0);
  EXPECT_DOUBLE_EQ(r1.paper_stable_rank, 1.0);
  EXPECT_TRUE(std::isnan(r1.paper_marchenko_pastur_kl));
  EXPECT_DOUBLE_EQ(r1.paper_sink_concentration, 1.0);
  EXPECT_NEAR(r1.paper_entropy, 0.0, 1e-9);
  // n = 2 causal [[1, 0], [0.5, 0.5]]: eigenvalues 1 and 0.5.
  at::Tensor two = at::tensor({1.0f, 0.0f, 0.5f, 0.5f}).view({2, 2});
  const PaperRmtMatrixResult r2 = PaperOf(two);
  EXPECT_DOUBLE_EQ(r2.paper_spectral_gap, 2.0);
  EXPECT_DOUBLE_EQ(r2.paper_participation_ratio, 1.5 * 1.5 / 1.25);
  EXPECT_NEAR(r2.paper_entropy, 0.5, 1e-6);  // rows: 0 bits and 1 bit
  // Column sums 1.5 and 0.5: the 90th percentile is 1.4, so only column 0 counts.
  EXPECT_NEAR(r2.paper_sink_concentration, 0.75, 1e-7);
  EXPECT_TRUE(std::isfinite(r2.paper_marchenko_pastur_kl));
}

TEST(PaperRmtTest, NilpotentMatrixHasNaNGapAndKl) {
  // Strictly lower triangular: every eigenvalue 0 (0/0 gap, zero mean for the MP normalization).
  at::Tensor a = at::zeros({3, 3});
  a[1][0] = 1.0f;
  a[2][1] = 1.0f;
  const PaperRmtMatrixResult r = PaperOf(a);
  EXPECT_TRUE(std::isnan(r.paper_spectral_gap));
  EXPECT_EQ(r.paper_participation_ratio, 0.0);
  EXPECT_TRUE(std::isnan(r.paper_marchenko_pastur_kl));
}

TEST(PaperRmtTest, DefaultsToTheHeadMeanAndMarksNonFiniteHeadsInvalid) {
  at::Tensor heads = at::stack({UniformCausal(10), SinkCausal(10, 0.5)}).to(at::kFloat);
  auto mean_only = ComputePaperRmt(heads);
  ASSERT_TRUE(mean_only.ok());
  ASSERT_EQ(mean_only->matrices.size(), 1u);
  EXPECT_EQ(mean_only->matrices[0].head, kHeadMean);
  EXPECT_EQ(mean_only->paper_mp_gamma, 0.99);

  heads[1][3][2] = std::numeric_limits<float>::quiet_NaN();
  PaperRmtOptions o;
  o.heads = HeadSelection::kPerHeadAndMean;
  auto r = ComputePaperRmt(heads, o);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->matrices.size(), 3u);
  EXPECT_TRUE(r->matrices[0].valid);
  EXPECT_DOUBLE_EQ(r->matrices[0].paper_spectral_gap, 2.0);
  EXPECT_FALSE(r->matrices[1].valid);
  EXPECT_EQ(r->matrices[1].health.num_nan, 1);
  EXPECT_TRUE(std::isnan(r->matrices[1].paper_entropy));
  EXPECT_FALSE(r->matrices[2].valid);  // the mean inherits the NaN
}

TEST(PaperRmtTest, RejectsBadShapesAndSizes) {
  EXPECT_EQ(ComputePaperRmt(at::zeros({3, 4})).status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ComputePaperRmt(at::zeros({3, 4})).status().message().find("[3, 4]"),
            std::string::npos);
  EXPECT_EQ(ComputePaperRmt(at::zeros({2, 2, 2, 2})).status().code(), StatusCode::kInvalidArgument);
  PaperRmtOptions small;
  small.max_n = 4;
  auto big = ComputePaperRmt(at::zeros({5, 5}), small);
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(big.status().message().find("max_n"), std::string::npos);
}

// ----- numpy helpers (expected values printed by numpy 2.4.6 / scipy 1.17.1, float64)

TEST(NumpySemanticsTest, PercentileIsNumpyLinear) {
  const std::vector<double> x = {3, 1, 4, 1, 5, 9, 2, 6};
  EXPECT_EQ(stats::Quantile(x, 0.9), 6.8999999999999995);
  EXPECT_EQ(stats::Quantile(x, 0.5), 3.5);
  EXPECT_EQ(stats::Quantile(x, 0.0), 1.0);
  EXPECT_EQ(stats::Quantile(x, 1.0), 9.0);
  EXPECT_EQ(stats::Quantile(x, 0.35), 2.4499999999999997);
  EXPECT_EQ(stats::Quantile(std::vector<double>{2.5}, 0.9), 2.5);
  EXPECT_TRUE(std::isnan(stats::Quantile(std::vector<double>{}, 0.9)));
}

TEST(NumpySemanticsTest, HistogramIsNumpyDensity) {
  {
    const std::vector<double> x = {1, 2, 2, 3, 10};
    stats::NumpyHistogram h = stats::NumpyHistogramDensity(x, 20);
    ASSERT_EQ(h.density.size(), 20u);
    EXPECT_EQ(h.edges[1], 1.45);
    EXPECT_EQ(h.edges[20], 10.0);
    EXPECT_DOUBLE_EQ(h.density[0], 0.4444444444444445);
    EXPECT_DOUBLE_EQ(h.density[2], 0.8888888888888886);
    EXPECT_DOUBLE_EQ(h.density[4], 0.4444444444444443);
    EXPECT_DOUBLE_EQ(h.density[19], 0.4444444444444452);  // the maximum: last bin, closed
    EXPECT_EQ(h.counts[1] + h.counts[3] + h.counts[18], 0.0);
  }
  {
    // min = max: range [4.5, 5.5]; all three in bin 10.
    stats::NumpyHistogram h = stats::NumpyHistogramDensity(std::vector<double>{5, 5, 5}, 20);
    EXPECT_EQ(h.edges[0], 4.5);
    EXPECT_EQ(h.edges[1], 4.55);
    EXPECT_EQ(h.counts[10], 3.0);
    EXPECT_NEAR(h.density[10], 20.00000000000007, 1e-12);
  }
  {
    // 0.30000000000000004 sits exactly on an edge: numpy's edge correction puts it in bin 4.
    const std::vector<double> x = {0.1, 0.2, 0.30000000000000004, 0.7, 1.0};
    stats::NumpyHistogram h = stats::NumpyHistogramDensity(x, 20);
    const std::vector<int> occupied = {0, 2, 4, 13, 19};
    for (int k : occupied) EXPECT_EQ(h.counts[static_cast<size_t>(k)], 1.0) << k;
  }
}

TEST(NumpySemanticsTest, EntropyIsScipyEntropy) {
  EXPECT_DOUBLE_EQ(
      stats::ScipyEntropy(std::vector<double>{0.5, 0.5, 0}, std::vector<double>{0.25, 0.25, 0.5}),
      0.6931471805599453);
  EXPECT_DOUBLE_EQ(stats::ScipyEntropy(std::vector<double>{1, 3}, std::vector<double>{2, 2}),
                   0.13081203594113697);
  EXPECT_EQ(stats::ScipyEntropy(std::vector<double>{0.5, 0.5}, std::vector<double>{1, 0}), kInf);
  EXPECT_TRUE(
      std::isnan(stats::ScipyEntropy(std::vector<double>{1, 1}, std::vector<double>{0, 0})));
}

TEST(NumpySemanticsTest, PairwiseSumFollowsNumpyOrder) {
  // 1e8 + 1 + … in float32: a plain loop loses every 1; numpy's 8 accumulators keep some.
  std::vector<float> x(16, 1.0f);
  x[0] = 1e8f;
  const float pairwise = stats::NumpyPairwiseSum<float>(x);
  // r0 = 1e8 + 1 → 1e8 (float32 spacing 8), r1..r7 = 2; ((r0+r1)+(r2+r3)) rounds back to 1e8,
  // then + 8 = 100000008, as np.sum prints (a plain loop gives 1e8).
  EXPECT_EQ(pairwise, 100000008.0f);
  // Over 128 values numpy splits into halves: np.sum gives 130000280 here.
  std::vector<float> long_x(300, 1.0f);
  long_x[0] = 1e8f;
  long_x[150] = 3e7f;
  EXPECT_EQ(stats::NumpyPairwiseSum<float>(long_x), 130000280.0f);
  std::vector<double> seven = {1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(stats::NumpyPairwiseSum<double>(seven), 28.0);
}

}  // namespace
}  // namespace sinkscope::analyzers::rmt
