// analyzers/stats against SciPy 1.17.1 (tests/fixtures/analyzers/stats_golden.json, made by
// make_stats_fixtures.py beside it), plus the edge cases the JSON cannot hold.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "analyzers/stats/correlation.h"
#include "analyzers/stats/descriptive.h"
#include "analyzers/stats/distributions.h"
#include "analyzers/stats/hypothesis_tests.h"
#include "analyzers/stats/multiple_testing.h"
#include "tests/support/test_support.h"

namespace sinkscope::analyzers::stats {
namespace {

using nlohmann::json;

const json& Golden() {
  static const json golden = [] {
    std::ifstream in(testing::FixturesDir() / "analyzers" / "stats_golden.json");
    return json::parse(in);
  }();
  return golden;
}

double Num(const json& v) {
  if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (v.is_string()) {
    return v.get<std::string>() == "inf" ? std::numeric_limits<double>::infinity()
                                         : -std::numeric_limits<double>::infinity();
  }
  return v.get<double>();
}

std::vector<double> Vec(const json& v) {
  return v.get<std::vector<double>>();
}

/// Relative 1e-10 plus `absolute`; NaN matches NaN, ±∞ matches itself. p-values use an absolute
/// 1e-25: for r = 1 SciPy's r rounds to exactly 1 (p = 0) where ours may be 1 − 2⁻⁵² (p ≈ 1e-32).
void ExpectClose(double got, const json& expected_json, const std::string& what,
                 double absolute = 1e-300) {
  const double expected = Num(expected_json);
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(got)) << what << ": got " << got << ", want NaN";
    return;
  }
  if (std::isinf(expected)) {
    EXPECT_EQ(got, expected) << what;
    return;
  }
  EXPECT_NEAR(got, expected, 1e-10 * std::fabs(expected) + absolute) << what;
}

TEST(StatsDistributionsTest, IncompleteBetaMatchesScipy) {
  for (const auto& c : Golden()["betainc"]) {
    ExpectClose(RegularizedIncompleteBeta(c["a"], c["b"], c["x"]), c["value"], c.dump());
  }
  EXPECT_TRUE(std::isnan(RegularizedIncompleteBeta(-1, 1, 0.5)));
  EXPECT_TRUE(std::isnan(RegularizedIncompleteBeta(1, 1, 1.5)));
  EXPECT_EQ(RegularizedIncompleteBeta(2, 3, 0), 0.0);
  EXPECT_EQ(RegularizedIncompleteBeta(2, 3, 1), 1.0);
  // I_x(1, 1) = x (the uniform distribution).
  EXPECT_NEAR(RegularizedIncompleteBeta(1, 1, 0.37), 0.37, 1e-15);
}

TEST(StatsDistributionsTest, StudentTTwoSidedMatchesScipy) {
  for (const auto& c : Golden()["t_two_sided"]) {
    ExpectClose(StudentTTwoSided(c["t"], c["df"]), c["p"], c.dump());
  }
  // t with 1 degree of freedom is Cauchy: P(|T| > 1) = 1/2.
  EXPECT_NEAR(StudentTTwoSided(1.0, 1.0), 0.5, 1e-15);
  EXPECT_NEAR(StudentTSurvival(-1.0, 1.0), 0.75, 1e-15);
  EXPECT_NEAR(NormalSurvival(1.959963984540054), 0.025, 1e-15);
}

TEST(StatsDistributionsTest, IncompleteGammaMatchesScipy) {
  for (const auto& c : Golden()["gamma"]) {
    ExpectClose(RegularizedLowerGamma(c["a"], c["x"]), c["lower"], c.dump() + " lower");
    ExpectClose(RegularizedUpperGamma(c["a"], c["x"]), c["upper"], c.dump() + " upper");
  }
  // χ² with 2 degrees of freedom is exponential: P(X > x) = e^{−x/2}.
  EXPECT_NEAR(ChiSquaredSurvival(3.0, 2.0), std::exp(-1.5), 1e-15);
  EXPECT_EQ(ChiSquaredCdf(-1.0, 4.0), 0.0);
}

TEST(StatsDescriptiveTest, MatchesNumpy) {
  for (const auto& c : Golden()["descriptive"]) {
    const std::string name = c["name"];
    const std::vector<double> x = Vec(c["x"]);
    auto s0 = Summarize(x, 0);
    auto s1 = Summarize(x, 1);
    ASSERT_TRUE(s0.ok() && s1.ok()) << name;
    ExpectClose(s0->mean, c["mean"], name + " mean");
    ExpectClose(s0->std, c["std0"], name + " std ddof 0");
    ExpectClose(s1->std, c["std1"], name + " std ddof 1");
    ExpectClose(s0->median, c["median"], name + " median");
    for (const auto& [q, value] : c["quantiles"].items()) {
      ExpectClose(Quantile(x, std::stod(q)), value, name + " quantile " + q);
    }
    EXPECT_EQ(AverageRanks(x), Vec(c["ranks"])) << name;
  }
}

TEST(StatsDescriptiveTest, NanMeanSkipsNanLikeNumpy) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(NanMean(std::vector<double>{1.0, nan, 4.0}), 2.5);  // np.nanmean([1, nan, 4])
  EXPECT_TRUE(std::isnan(NanMean(std::vector<double>{nan, nan})));
  EXPECT_TRUE(std::isnan(NanMean(std::vector<double>{})));
  EXPECT_EQ(NanMean(std::vector<double>{-1.0, 3.0}), Mean(std::vector<double>{-1.0, 3.0}));
}

TEST(StatsDescriptiveTest, CountsNonFiniteValuesInsteadOfHidingThem) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  auto s = Summarize(std::vector<double>{1.0, nan, 3.0}, 0);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->num_nan, 1);
  EXPECT_TRUE(std::isnan(s->mean));
  EXPECT_TRUE(std::isnan(s->median));
  auto t = Summarize(std::vector<double>{1.0, inf}, 0);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->num_infinite, 1);
  EXPECT_EQ(t->max, inf);
  EXPECT_EQ(Summarize(std::vector<double>{1.0}, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Summarize({}, 0).status().code(), StatusCode::kInvalidArgument);
}

TEST(StatsCorrelationTest, PearsonAndSpearmanMatchScipy) {
  for (const auto& c : Golden()["correlation"]) {
    const std::string name = c["name"];
    const std::vector<double> x = Vec(c["x"]);
    const std::vector<double> y = Vec(c["y"]);
    auto p = Pearson(x, y);
    auto s = Spearman(x, y);
    ASSERT_TRUE(p.ok() && s.ok()) << name;
    ExpectClose(p->r, c["pearson_r"], name + " pearson r");
    ExpectClose(p->p_value, c["pearson_p"], name + " pearson p", 1e-25);
    ExpectClose(s->r, c["spearman_r"], name + " spearman r");
    ExpectClose(s->p_value, c["spearman_p"], name + " spearman p", 1e-25);
  }
}

TEST(StatsDescriptiveTest, LongSamplesAreOrderedLikeSortedValueIndexPairs) {
  // From 256 values AscendingOrder radix-sorts the values' bit patterns; its order must be that of
  // sorting (value, index) pairs: negatives, ±0, subnormals, ±∞, huge and tiny magnitudes, ties.
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> special = {0.0,    -0.0,   5e-324, -5e-324, inf,   -inf, 1e300,
                                       -1e300, 1e-300, 0.25,   0.25,    -0.25, 1.0,  -1.0};
  for (size_t m : {size_t{256}, size_t{1128}, size_t{4099}}) {
    std::vector<double> x(m);
    for (size_t k = 0; k < m; ++k) {
      // Deterministic spread with repeats: a few values occur many times.
      const double t = std::sin(0.37 * static_cast<double>(k * k % 977)) * (k % 7 == 0 ? 1e6 : 1.0);
      x[k] = k % 5 == 0 ? special[k % special.size()] : (k % 11 == 0 ? 0.125 : t);
    }
    std::vector<std::pair<double, size_t>> pairs(m);
    for (size_t k = 0; k < m; ++k) pairs[k] = {x[k], k};
    std::sort(pairs.begin(), pairs.end());
    const std::vector<size_t> order = AscendingOrder(x);
    ASSERT_EQ(order.size(), m);
    for (size_t k = 0; k < m; ++k) {
      // −0 and +0 compare equal, so the pairs order them by index, as the radix keys do.
      EXPECT_EQ(order[k], pairs[k].second) << "m " << m << " position " << k;
    }
  }
}

TEST(StatsCorrelationTest, RanksOfASubsampleFromTheFullOrder) {
  // The order of a subsample is the full sample's order with the other positions skipped; with
  // ties, the subsample's average ranks and Spearman's ρ must equal those computed from scratch.
  const std::vector<double> x = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9};
  const std::vector<double> y = {2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9, 0, 4};
  const std::vector<bool> keep = {1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1};
  std::vector<double> xs, ys;
  std::vector<size_t> index(x.size());
  for (size_t k = 0; k < x.size(); ++k) {
    index[k] = xs.size();
    if (keep[k]) {
      xs.push_back(x[k]);
      ys.push_back(y[k]);
    }
  }
  auto sub_ranks = [&](const std::vector<double>& full, const std::vector<double>& sub) {
    std::vector<size_t> order;
    for (size_t k : AscendingOrder(full)) {
      if (keep[k]) order.push_back(index[k]);
    }
    return AverageRanksInOrder(sub, order);
  };
  EXPECT_EQ(AverageRanksInOrder(x, AscendingOrder(x)), AverageRanks(x));
  EXPECT_EQ(sub_ranks(x, xs), AverageRanks(xs));
  EXPECT_EQ(sub_ranks(y, ys), AverageRanks(ys));
  auto direct = Spearman(xs, ys);
  auto ranked = SpearmanFromRanks(sub_ranks(x, xs), sub_ranks(y, ys));
  ASSERT_TRUE(direct.ok() && ranked.ok());
  EXPECT_EQ(ranked->r, direct->r);
  EXPECT_EQ(ranked->p_value, direct->p_value);
  EXPECT_NE(direct->r, 0.0);
}

TEST(StatsCorrelationTest, ConstantOrNaNInputGivesNaNNotZero) {
  const std::vector<double> x = {1, 2, 3, 4};
  auto c = Pearson(x, std::vector<double>{2, 2, 2, 2});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->constant_input);
  EXPECT_TRUE(std::isnan(c->r) && std::isnan(c->p_value));
  auto n = Spearman(x, std::vector<double>{1, std::numeric_limits<double>::quiet_NaN(), 3, 4});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->num_nan, 1);
  EXPECT_TRUE(std::isnan(n->r));
  EXPECT_EQ(Pearson(x, std::vector<double>{1, 2}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Pearson(std::vector<double>{1}, std::vector<double>{1}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(StatsCorrelationTest, CentredUnitFormGivesPearsonsR) {
  const std::vector<double> x = {0.3, -1.2, 4.5, 2.0, 0.7, -0.1, 3.3};
  const std::vector<double> y = {1.0, 0.2, 2.9, 2.2, -0.4, 0.0, 1.7};
  std::vector<double> ux(x.size()), uy = y;  // uy: centred in place
  ASSERT_TRUE(CentreToUnit(x, ux));
  ASSERT_TRUE(CentreToUnit(uy, uy));
  double norm = 0, sum = 0;
  for (double v : ux) {
    norm += v * v;
    sum += v;
  }
  EXPECT_NEAR(norm, 1.0, 1e-15);
  EXPECT_NEAR(sum, 0.0, 1e-15);
  auto c = PearsonCoefficient(x, y);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(PearsonFromUnit(ux, uy), c->r);
  std::vector<double> scratch(4);
  EXPECT_FALSE(CentreToUnit(std::vector<double>{2, 2, 2, 2}, scratch));
  EXPECT_FALSE(CentreToUnit(std::vector<double>{1, std::numeric_limits<double>::quiet_NaN(), 3, 4},
                            scratch));
  EXPECT_FALSE(
      CentreToUnit(std::vector<double>{1, std::numeric_limits<double>::infinity(), 3, 4}, scratch));
  EXPECT_FALSE(CentreToUnit(std::vector<double>{1}, scratch));
}

TEST(StatsCorrelationTest, FisherZMeanMatchesNumpy) {
  const json& f = Golden()["fisher_z"];
  ExpectClose(*FisherZMean(Vec(f["r"])), f["mean"], "fisher z mean");
  ExpectClose(*FisherZMean(Vec(f["r"]), Vec(f["weights"])), f["weighted_mean"], "weighted");
  EXPECT_EQ(*FisherZMean(std::vector<double>{1.0, 0.3}), 1.0);
  EXPECT_EQ(FisherZMean(std::vector<double>{1.5}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FisherZMean({}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FisherZMean(std::vector<double>{0.1}, std::vector<double>{0.0}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(StatsHypothesisTest, WelchMatchesScipyIncludingDegenerateSamples) {
  for (const auto& c : Golden()["welch"]) {
    const std::string name = c["name"];
    auto r = WelchTTest(Vec(c["x"]), Vec(c["y"]));
    ASSERT_TRUE(r.ok()) << name;
    ExpectClose(r->statistic, c["t"], name + " t");
    ExpectClose(r->p_value, c["p"], name + " p");
    ExpectClose(r->df, c["df"], name + " df");
  }
  EXPECT_EQ(WelchTTest(std::vector<double>{1}, std::vector<double>{1, 2}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(StatsHypothesisTest, OneSampleTMatchesScipy) {
  for (const auto& c : Golden()["one_sample_t"]) {
    const std::string name = c["name"];
    auto r = OneSampleTTest(Vec(c["x"]));
    ASSERT_TRUE(r.ok()) << name;
    ExpectClose(r->statistic, c["t"], name + " t");
    ExpectClose(r->p_value, c["p"], name + " p");
    ExpectClose(r->df, c["df"], name + " df");
  }
  EXPECT_EQ(OneSampleTTest(std::vector<double>{1.0}).status().code(), StatusCode::kInvalidArgument);
}

TEST(StatsHypothesisTest, FisherMethodMatchesScipyInBothRoundings) {
  const json& f = Golden()["fisher_method"];
  auto r = FisherCombine(Vec(f["p"]));
  ASSERT_TRUE(r.ok());
  ExpectClose(r->statistic, f["statistic"], "X");
  ExpectClose(r->df, f["df"], "df");
  ExpectClose(r->p_value, f["p_sf"], "survival p");
  auto paper = FisherCombine(Vec(f["p"]), 1e-10, /*paper_one_minus_cdf=*/true);
  ASSERT_TRUE(paper.ok());
  // 1 − CDF keeps only ~6 significant digits at p ≈ 1.8e-10: compare to that.
  EXPECT_NEAR(paper->p_value, Num(f["p_paper"]), 1e-15);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto skipped = FisherCombine(std::vector<double>{0.5, nan});
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ(skipped->num_nan, 1);
  EXPECT_EQ(skipped->df, 2.0);
  EXPECT_EQ(FisherCombine(std::vector<double>{nan}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FisherCombine(std::vector<double>{1.5}).status().code(), StatusCode::kInvalidArgument);
}

TEST(StatsHypothesisTest, PairedTMatchesScipy) {
  for (const auto& c : Golden()["paired_t"]) {
    const std::string name = c["name"];
    auto r = PairedTTest(Vec(c["x"]), Vec(c["y"]));
    ASSERT_TRUE(r.ok()) << name;
    ExpectClose(r->statistic, c["t"], name + " t");
    ExpectClose(r->p_value, c["p"], name + " p");
    ExpectClose(r->df, c["df"], name + " df");
  }
}

TEST(StatsHypothesisTest, WilcoxonMatchesScipyInEveryMethod) {
  std::vector<std::string> methods;
  for (const auto& c : Golden()["wilcoxon"]) {
    const std::string name = c["name"];
    auto r = WilcoxonSignedRank(Vec(c["x"]), Vec(c["y"]));
    ASSERT_TRUE(r.ok()) << name;
    ExpectClose(r->statistic, c["statistic"], name + " statistic");
    ExpectClose(r->p_value, c["p"], name + " p");
    methods.push_back(r->method);
  }
  // The fixture covers the exact, permutation and normal paths.
  for (const char* m : {"wilcoxon-exact", "wilcoxon-permutation", "wilcoxon-normal"}) {
    EXPECT_NE(std::find(methods.begin(), methods.end(), m), methods.end()) << m;
  }
}

TEST(StatsHypothesisTest, WilcoxonWithOnlyZeroDifferencesIsNaN) {
  const std::vector<double> x = {1, 2, 3};
  auto r = WilcoxonSignedRank(x, x);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->num_zero_differences, 3);
  EXPECT_TRUE(std::isnan(r->p_value));
  EXPECT_EQ(WilcoxonSignedRank({}, {}).status().code(), StatusCode::kInvalidArgument);
}

TEST(StatsMultipleTestingTest, HolmAndBenjaminiHochbergMatchReference) {
  const json& m = Golden()["multiple"];
  const std::vector<double> p = Vec(m["p"]);
  auto holm = HolmAdjust(p);
  auto bh = BenjaminiHochbergAdjust(p);
  ASSERT_TRUE(holm.ok() && bh.ok());
  for (size_t i = 0; i < p.size(); ++i) {
    ExpectClose((*holm)[i], m["holm"][i], "holm " + std::to_string(i));
    ExpectClose((*bh)[i], m["bh"][i], "bh " + std::to_string(i));
  }
}

TEST(StatsMultipleTestingTest, NaNIsKeptAndNotCounted) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto holm = HolmAdjust(std::vector<double>{0.01, nan, 0.04});
  ASSERT_TRUE(holm.ok());
  EXPECT_DOUBLE_EQ((*holm)[0], 0.02);  // m = 2, not 3
  EXPECT_TRUE(std::isnan((*holm)[1]));
  EXPECT_DOUBLE_EQ((*holm)[2], 0.04);
  EXPECT_EQ(BenjaminiHochbergAdjust(std::vector<double>{1.2}).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sinkscope::analyzers::stats
