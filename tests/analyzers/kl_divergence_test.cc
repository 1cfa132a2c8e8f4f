// Inter-head KL and sink removal: KL.ipynb's semantics against the spec's golden vectors (cases A
// and B of golden_infogeo_value.json, 1e-9 relative), and the identities of spec
// paper-infogeo-value §2.5 and §2.10 for the CORRECTED quantities.
#include <cmath>
#include <fstream>
#include <limits>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "analyzers/infogeo/kl_divergence.h"
#include "tests/analyzers/golden_support.h"

namespace sinkscope::analyzers::infogeo {
namespace {

using nlohmann::json;
using testing::CausalSoftmax;
using testing::ExpectRel;
using testing::ExpectVector;
using testing::GoldenInfogeoValue;
using testing::TensorFromJson;

void CheckPaperCase(const char* name, const at::Tensor& attention) {
  const json& c = GoldenInfogeoValue()[name];
  auto r = ComputePaperKlSinks(attention);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectVector(r->paper_kl_to_avg, c["KL_baseline"]["kl_to_avg"], std::string(name) + " KL_h");
  ExpectRel(r->paper_avg_kl_divergence, c["KL_baseline"]["avg_kl_divergence"], "avg KL");
  EXPECT_EQ(r->paper_max_kl_divergence, 0.0);  // optimize_calcs reports 0
  ASSERT_EQ(r->thresholds.size(), 3u);
  const char* keys[] = {"KL_t0.8", "KL_t0.9", "KL_t0.95"};
  for (size_t k = 0; k < 3; ++k) {
    const json& t = c[keys[k]];
    const PaperKlThreshold& got = r->thresholds[k];
    const std::string what = std::string(name) + " " + keys[k];
    EXPECT_EQ(got.paper_sinks, t["sinks"].get<std::vector<int64_t>>()) << what;
    ExpectRel(got.paper_sink_attention_percentage, t["sink_attention_percentage"], what + " %");
    ExpectRel(got.paper_avg_sink_concentration, t["avg_sink_concentration_first4heads"],
              what + " concentration");
    ExpectVector(got.paper_kl_without_sinks, t["kl_without_sinks"], what + " KLw");
    ExpectRel(got.paper_avg_kl_reduction, t["avg_kl_reduction"], what + " reduction");
  }
}

TEST(PaperKlTest, MatchesGoldenCaseA) {
  CheckPaperCase("caseA", TensorFromJson(GoldenInfogeoValue()["caseA"]["attention"]));
}

TEST(PaperKlTest, MatchesGoldenCaseBWithTwentyRowSubsample) {
  at::Tensor a = CausalSoftmax(TensorFromJson(GoldenInfogeoValue()["caseB"]["logits"]));
  CheckPaperCase("caseB", a);
  auto r = ComputePaperKlSinks(a);
  EXPECT_EQ(r->paper_rows,
            GoldenInfogeoValue()["caseB"]["kl_rows_used"].get<std::vector<int64_t>>());
  // Without optimize_calcs every row and head counts: the baseline differs, max/min are real.
  PaperKlOptions all;
  all.optimize_calcs = false;
  auto full = ComputePaperKlSinks(a, all);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->paper_rows.size(), 25u);
  EXPECT_GT(full->paper_max_kl_divergence, full->paper_min_kl_divergence);
}

TEST(KlTest, GeneralizedJensenShannonIdentity) {
  // mean_h KL(P^h_i ‖ P̄_i) = H(P̄_i) − mean_h H(P^h_i), averaged over rows i ≥ 1 (causal).
  at::Tensor a = TensorFromJson(GoldenInfogeoValue()["caseA"]["attention"]);
  auto r = ComputeKlSinks(a);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->causal);
  EXPECT_EQ(r->num_rows, 5);
  auto entropy = [](const at::Tensor& p) {
    at::Tensor pos = p.clamp_min(1e-300);
    return -(p * pos.log()).sum(-1);
  };
  at::Tensor rows = a.narrow(1, 1, a.size(1) - 1);  // [H, n − 1, n]
  const double js = (entropy(rows.mean(0)) - entropy(rows).mean(0)).mean().item<double>();
  ExpectRel(r->generalized_js_divergence, js, "JS identity");
}

TEST(KlTest, SinkRemovalLossIsMinusLogOneMinusMass) {
  // One head so the head mean is the head itself: every KL to the mean is 0, and the loss is
  // −ln(1 − m) averaged over rows i ≥ 1.
  at::Tensor a = TensorFromJson(GoldenInfogeoValue()["caseA"]["attention"]).narrow(0, 0, 1);
  KlOptions first;
  first.sink_rule = SinkSetRule::kFirstToken;
  auto r = ComputeKlSinks(a, first);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->removals.size(), 1u);
  const KlSinkRemoval& k = r->removals[0];
  EXPECT_EQ(k.sinks, (std::vector<int64_t>{0}));
  // Direct D(Q_i ‖ P_i) with Q_i = P_i on non-sinks / (1 − m_i).
  double direct = 0;
  for (int64_t i = 1; i < a.size(1); ++i) {
    at::Tensor p = a[0][i];
    const double m = p[0].item<double>();
    double d = 0;
    for (int64_t j = 1; j <= i; ++j) {
      const double q = p[j].item<double>() / (1 - m);
      if (q > 0) d += q * std::log(q / p[j].item<double>());
    }
    direct += d;
  }
  direct /= static_cast<double>(a.size(1) - 1);
  ExpectRel(k.sink_removal_information_loss, direct, "−ln(1 − m) = D(Q‖P)");
  EXPECT_NEAR(r->generalized_js_divergence, 0.0, 1e-15);
}

TEST(KlTest, PerHeadDivergencesMatchTheirDefinitions) {
  // The CORRECTED path computes each ln once and shifts it by ln(1 − m) for the sink-removed
  // rows; here every D is summed directly as Σ p ln(p / q) over random causal softmax rows.
  at::manual_seed(7);
  const int64_t H = 3, n = 9;
  at::Tensor a = CausalSoftmax(at::randn({H, n, n}, at::kDouble) * 2.0);
  KlOptions first;
  first.sink_rule = SinkSetRule::kFirstToken;
  auto r = ComputeKlSinks(a, first);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->removals.size(), 1u);
  auto kl = [](const at::Tensor& p, const at::Tensor& q) {
    double d = 0;
    for (int64_t j = 0; j < p.size(0); ++j) {
      const double pj = p[j].item<double>();
      if (pj > 0) d += pj * std::log(pj / q[j].item<double>());
    }
    return d;
  };
  const at::Tensor mean = a.mean(0);
  at::Tensor q = a.clone();
  q.select(2, 0).zero_();
  q = q / (1 - a.select(2, 0)).unsqueeze(-1);  // rows off the sink, renormalized
  const at::Tensor q_mean = q.mean(0);
  for (int64_t h = 0; h < H; ++h) {
    double with = 0, without = 0;
    for (int64_t i = 1; i < n; ++i) {
      with += kl(a[h][i], mean[i]);
      without += kl(q[h][i], q_mean[i]);
    }
    ExpectRel(r->kl_to_head_mean[h], with / (n - 1), "KL_h with sinks");
    ExpectRel(r->removals[0].kl_without_sinks[h], without / (n - 1), "KL_h without sinks");
  }
  double to_uniform = 0;
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t i = 1; i < n; ++i) {
      at::Tensor u = at::zeros({n}, at::kDouble);
      u.narrow(0, 0, i + 1).fill_(1.0 / static_cast<double>(i + 1));
      to_uniform += kl(a[h][i], u);
    }
  }
  ExpectRel(r->kl_to_uniform, to_uniform / static_cast<double>(H * (n - 1)), "KL to uniform");
}

TEST(KlTest, AbsoluteSinksAndDroppedRows) {
  // Two heads, n = 4, causal. Head 0 puts everything on key 0 from row 1 on; head 1 is uniform.
  at::Tensor a = at::zeros({2, 4, 4}, at::kDouble);
  for (int64_t i = 0; i < 4; ++i) {
    a[0][i][0] = 1.0;
    for (int64_t j = 0; j <= i; ++j) a[1][i][j] = 1.0 / static_cast<double>(i + 1);
  }
  auto r = ComputeKlSinks(a);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->removals.size(), 2u);
  // ā_0 = mean_{i≥1} (1 + 1/(i+1))/2 ≈ 0.68, ā_1 ≈ 0.18, ā_2 ≈ 0.146, ā_3 = 0.125: τ = 0.1 takes
  // every key, τ = 0.3 only key 0.
  EXPECT_EQ(r->removals[0].sinks, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(r->removals[0].num_rows_kept, 0);
  EXPECT_EQ(r->removals[1].sinks, (std::vector<int64_t>{0}));
  // Head 0 has no mass off key 0: every row is dropped and counted, nothing silently zero.
  EXPECT_EQ(r->removals[1].num_rows_kept, 0);
  EXPECT_EQ(r->removals[1].num_rows_dropped, 3);
  EXPECT_TRUE(std::isnan(r->removals[1].avg_kl_reduction));
  EXPECT_TRUE(std::isnan(r->removals[1].sink_removal_information_loss));
}

TEST(KlTest, NaNInputIsInvalidAndOneTokenHasNoRows) {
  at::Tensor a = at::full({2, 3, 3}, 1.0 / 3, at::kDouble);
  a[1][1][1] = std::numeric_limits<double>::quiet_NaN();
  auto r = ComputeKlSinks(a);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->valid);
  EXPECT_EQ(r->health.num_nan, 1);
  EXPECT_TRUE(std::isnan(r->generalized_js_divergence));
  auto p = ComputePaperKlSinks(a);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->valid);
  EXPECT_TRUE(std::isnan(p->paper_avg_kl_divergence));

  auto one = ComputeKlSinks(at::ones({1, 1}, at::kDouble));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->num_rows, 0);
  EXPECT_TRUE(std::isnan(one->generalized_js_divergence));

  KlOptions bad;
  bad.taus = {1.5};
  EXPECT_EQ(ComputeKlSinks(a, bad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputePaperKlSinks(at::zeros({2, 3})).status().code(), StatusCode::kInvalidArgument);
}

TEST(AttentionFisherTest, TraceIsOneMinusSquaredNorm) {
  // Causal uniform rows: row i spreads over i + 1 keys, tr = 1 − 1/(i + 1); one-hot rows give 0.
  at::Tensor a = at::zeros({2, 4, 4}, at::kDouble);
  for (int64_t i = 0; i < 4; ++i) {
    a[0][i][0] = 1.0;
    for (int64_t j = 0; j <= i; ++j) a[1][i][j] = 1.0 / static_cast<double>(i + 1);
  }
  auto r = ComputeAttentionFisher(a);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->fisher_trace.size(), 3u);
  EXPECT_DOUBLE_EQ(r->fisher_trace[0], 0.0);
  ExpectRel(r->fisher_trace[1], ((1 - 0.5) + (1 - 1.0 / 3) + (1 - 0.25)) / 3, "uniform");
  EXPECT_EQ(r->heads.back(), kHeadMean);
  EXPECT_GT(r->fisher_trace[2], 0.0);
}

}  // namespace
}  // namespace sinkscope::analyzers::infogeo
