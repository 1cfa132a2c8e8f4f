// Sink metrics: the explorer script's measures against the spec's golden vectors (case C of
// golden_infogeo_value.json, tolerance 1e-9 relative), and the CORRECTED measures on matrices whose
// values follow in closed form.
#include <cmath>
#include <fstream>
#include <limits>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "analyzers/sink/massive_activations.h"
#include "analyzers/sink/paper_sink_metrics.h"
#include "analyzers/sink/sink_metrics.h"
#include "tests/analyzers/golden_support.h"

namespace sinkscope::analyzers::sink {
namespace {

using nlohmann::json;
using testing::CausalSoftmax;
using testing::ExpectRel;
using testing::ExpectVector;
using testing::GoldenInfogeoValue;
using testing::TensorFromJson;

/// A_ij = 1/(i + 1) for j ≤ i.
at::Tensor UniformCausal(int64_t n) {
  at::Tensor a = at::zeros({n, n}, at::kDouble);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j <= i; ++j) a[i][j] = 1.0 / static_cast<double>(i + 1);
  }
  return a;
}

TEST(PaperSinkMetricsTest, ExplorerMatchesGoldenCaseC) {
  const json& golden = GoldenInfogeoValue()["caseC_explorer"];
  const at::Tensor logits = TensorFromJson(golden["logits"]);
  auto r = ComputePaperSinkMetrics(CausalSoftmax(logits));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->valid);
  ExpectRel(r->paper_avg_first_token_attention, golden["avg_first_token_attention"], "avg");
  ExpectRel(r->paper_max_first_token_attention, golden["max_first_token_attention"], "max");
  ExpectRel(r->paper_min_first_token_attention, golden["min_first_token_attention"], "min");
  ExpectRel(r->paper_first_layer_avg, golden["first_layer_avg"], "first layers");
  ExpectRel(r->paper_last_layer_avg, golden["last_layer_avg"], "last layers");
  ExpectRel(r->paper_progression_increase, golden["progression_increase"], "progression");
  ExpectRel(r->paper_first_vs_avg_ratio, golden["first_vs_avg_ratio"], "ratio");
  ExpectRel(r->paper_sink_strength, golden["sink_strength"], "sink strength");
  ExpectVector(r->paper_layer_progression, golden["layer_progression"], "layer progression");
  ExpectVector(r->paper_attention_distribution, golden["attention_distribution"], "distribution");
  // The spec's identity: the sink strength is the average first-token attention / 100.
  ExpectRel(r->paper_sink_strength, r->paper_avg_first_token_attention / 100, "identity");
}

TEST(SinkMetricsTest, UniformCausalAttentionFollowsTheClosedForms) {
  const int64_t n = 6;
  auto r = ComputeSinkMetrics(UniformCausal(n).unsqueeze(0), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->causal);
  const HeadSinkMetrics& head = r->layers[0].heads[0];
  // f = mean_{i ≥ 1} 1/(i + 1); the others get Σ_{i≥1} i/(i+1) over Σ_{i≥1} i query-key pairs.
  double f = 0, others = 0, pairs = 0;
  for (int64_t i = 1; i < n; ++i) {
    f += 1.0 / static_cast<double>(i + 1);
    others += static_cast<double>(i) / static_cast<double>(i + 1);
    pairs += static_cast<double>(i);
  }
  f /= static_cast<double>(n - 1);
  ExpectRel(head.first_token_mass, f, "f");
  ExpectRel(head.first_vs_others_ratio, f / (others / pairs), "ratio");
  // α_k = (1/(n − k)) Σ_{i=k}^{n−1} 1/(i + 1): largest at k = 0.
  for (int64_t k = 0; k < n; ++k) {
    double alpha = 0;
    for (int64_t i = k; i < n; ++i) alpha += 1.0 / static_cast<double>(i + 1);
    ExpectRel(r->layers[0].key_importance[k], alpha / static_cast<double>(n - k), "alpha");
  }
  EXPECT_EQ(head.top_key, 0);
  EXPECT_EQ(head.top_key_class, PositionClass::kFirst);
  // α_0 = H_6/6 ≈ 0.408 > 0.3: a sink head at the default ε, not at ε = 0.8.
  EXPECT_TRUE(head.is_sink_head);
  SinkOptions strict;
  strict.epsilon = 0.8;
  EXPECT_FALSE(
      ComputeSinkMetrics(UniformCausal(n).unsqueeze(0), strict)->layers[0].heads[0].is_sink_head);
}

TEST(SinkMetricsTest, PerfectSinkAndUniformBidirectionalAttention) {
  const int64_t n = 5;
  at::Tensor sink = at::zeros({n, n}, at::kDouble);
  sink.select(1, 0).fill_(1.0);
  auto s = ComputeSinkMetrics(sink.unsqueeze(0), {});
  ASSERT_TRUE(s.ok());
  const HeadSinkMetrics& h = s->layers[0].heads[0];
  EXPECT_DOUBLE_EQ(h.first_token_mass, 1.0);
  EXPECT_DOUBLE_EQ(h.sink_key_importance, 1.0);
  EXPECT_TRUE(std::isinf(h.first_vs_others_ratio));
  EXPECT_DOUBLE_EQ(s->sink_rate_percent, 100.0);

  at::Tensor uniform = at::full({n, n}, 1.0 / n, at::kDouble);
  auto u = ComputeSinkMetrics(uniform.unsqueeze(0), {});
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->causal);
  const HeadSinkMetrics& b = u->layers[0].heads[0];
  ExpectRel(b.first_token_mass, 1.0 / n, "f");
  ExpectRel(b.first_vs_others_ratio, 1.0, "ratio");
  EXPECT_EQ(b.top_key, 0);  // all keys tie: the lowest index
  EXPECT_DOUBLE_EQ(u->sink_rate_percent, 0.0);
}

TEST(SinkMetricsTest, SinkRateProgressionAndMaximaAcrossLayers) {
  // Three layers × two heads: head 0 puts f_ℓ = 0.1, 0.2, 0.3 on key 0 (the rest on the diagonal),
  // head 1 is a perfect sink in layer 2 only.
  const int64_t n = 5;
  at::Tensor a = at::zeros({3, 2, n, n}, at::kDouble);
  for (int64_t l = 0; l < 3; ++l) {
    const double f = 0.1 * static_cast<double>(l + 1);
    for (int64_t h = 0; h < 2; ++h) {
      a[l][h][0][0] = 1.0;
      for (int64_t i = 1; i < n; ++i) {
        const double share = (h == 1 && l == 2) ? 1.0 : f;
        a[l][h][i][0] = share;
        a[l][h][i][i] = 1.0 - share;
      }
    }
  }
  auto r = ComputeSinkMetrics(a, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->num_layers, 3);
  // α_0 = (1 + 4 f)/5 (row 0 counts, as in Gu et al.): > 0.3 for f ≥ 0.2 → heads (1,0), (1,1),
  // (2,0), (2,1) → 4 of 6.
  ExpectRel(r->sink_rate_percent, 100.0 * 4 / 6, "sink rate");
  ExpectRel(r->layers[0].sink_rate_percent, 0.0, "layer 0 rate");
  ExpectRel(r->max_head_first_token_percent, 100.0, "max head");
  EXPECT_EQ(r->max_head_layer, 2);
  EXPECT_EQ(r->max_head, 1);
  // Head-mean f per layer: 10, 20, 65 (%): slope 27.5 %/layer, last − first 55.
  ExpectRel(r->max_layer_first_token_percent, 65.0, "max layer");
  EXPECT_EQ(r->max_layer, 2);
  ExpectRel(r->progression_slope_percent_per_layer, 27.5, "slope");
  ExpectRel(r->progression_last_minus_first, 55.0, "last − first");
  ExpectRel(r->avg_first_token_percent, (10 + 10 + 20 + 20 + 30 + 100) / 6.0, "average");
}

TEST(SinkMetricsTest, NaNHeadIsCountedAndTheOthersStillComputed) {
  at::Tensor a = UniformCausal(4).unsqueeze(0).repeat({2, 1, 1});
  a[1][2][1] = std::numeric_limits<double>::quiet_NaN();
  auto r = ComputeSinkMetrics(a, {});
  ASSERT_TRUE(r.ok());
  const auto& heads = r->layers[0].heads;
  ASSERT_EQ(heads.size(), 3u);
  EXPECT_TRUE(heads[0].valid);
  EXPECT_FALSE(heads[1].valid);
  EXPECT_EQ(heads[1].health.num_nan, 1);
  EXPECT_TRUE(std::isnan(heads[1].first_token_mass));
  EXPECT_FALSE(heads[2].valid);  // the head mean inherits the NaN
  EXPECT_EQ(r->num_invalid, 2);
  // The average runs over the valid head only.
  ExpectRel(r->avg_first_token_percent, 100 * heads[0].first_token_mass, "average");
}

TEST(SinkMetricsTest, OneTokenIsDefined) {
  auto r = ComputeSinkMetrics(at::ones({1, 1, 1}, at::kDouble), {});
  ASSERT_TRUE(r.ok());
  // Causal detection sees no upper triangle: causal, so Q is empty and f is undefined.
  EXPECT_TRUE(std::isnan(r->layers[0].heads[0].first_token_mass));
  EXPECT_TRUE(std::isnan(r->layers[0].heads[0].first_vs_others_ratio));
  EXPECT_DOUBLE_EQ(r->layers[0].heads[0].sink_key_importance, 1.0);
  SinkOptions bidirectional;
  bidirectional.causality = Causality::kBidirectional;
  EXPECT_DOUBLE_EQ(ComputeSinkMetrics(at::ones({1, 1, 1}, at::kDouble), bidirectional)
                       ->layers[0]
                       .heads[0]
                       .first_token_mass,
                   1.0);
}

TEST(SinkMetricsTest, RejectsBadInputWithWhatToFix) {
  struct Case {
    at::Tensor input;
    SinkOptions options;
    const char* fragment;
  };
  SinkOptions key;
  key.sink_key = 5;
  SinkOptions eps;
  eps.epsilon = 1.5;
  SinkOptions classes;
  classes.position_classes = {PositionClass::kFirst};
  const Case cases[] = {
      {at::zeros({3, 3}), {}, "[layers, heads, n, n] or [heads, n, n]"},
      {at::zeros({1, 3, 4}), {}, "must be square"},
      {at::zeros({1, 1, 3, 3}), key, "sink_key 5 is outside [0, 3)"},
      {at::zeros({1, 1, 3, 3}), eps, "epsilon must be in [0, 1]"},
      {at::zeros({1, 1, 3, 3}), classes, "1 position classes for 3 tokens"},
  };
  for (const auto& c : cases) {
    auto r = ComputeSinkMetrics(c.input, c.options);
    ASSERT_FALSE(r.ok()) << c.fragment;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.fragment), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(ComputePaperSinkMetrics(at::zeros({2, 2})).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(SinkMetricsTest, ClassifiesPositionsByRole) {
  const std::vector<std::string> tokens = {"<s>",
                                           "\xE2\x96\x81The",
                                           "\xE2\x96\x81"
                                           "cat",
                                           ",",
                                           "\xE2\x96\x81sat",
                                           ".",
                                           "</s>"};
  auto classes = ClassifyPositions(tokens, {0, 6});
  const std::vector<PositionClass> expected = {
      PositionClass::kFirst, PositionClass::kFirstContentWord,
      PositionClass::kOther, PositionClass::kPunctuation,
      PositionClass::kOther, PositionClass::kPunctuation,
      PositionClass::kLast};
  EXPECT_EQ(classes, expected);
  // Without BOS (Qwen, Pythia), the first word is position 0 and keeps the class "first".
  auto no_bos = ClassifyPositions({"In",
                                   "\xC4\xA0"
                                   "1905",
                                   "."},
                                  {});
  EXPECT_EQ(no_bos, (std::vector<PositionClass>{PositionClass::kFirst, PositionClass::kOther,
                                                PositionClass::kPunctuation}));
  EXPECT_EQ(PositionClassName(PositionClass::kFirstContentWord), "first-content-word");
}

TEST(MassiveActivationsTest, FindsEntriesAboveBothThresholds) {
  at::Tensor h = at::ones({2, 3, 4}, at::kDouble);  // 2 layers, 3 tokens, 4 dims
  h[0][0][2] = 2500.0;                              // massive: > 100 and > 1000 × median (1)
  h[1][1][3] = -150.0;  // > 100 but median |h| of token 1 is 1 → 150 < 1000: not massive
  h[1][2][0] = std::numeric_limits<double>::infinity();
  auto r = FindMassiveActivations(h);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->activations.size(), 1u);
  EXPECT_EQ(r->activations[0].layer, 0);
  EXPECT_EQ(r->activations[0].token, 0);
  EXPECT_EQ(r->activations[0].dim, 2);
  EXPECT_DOUBLE_EQ(r->activations[0].value, 2500.0);
  EXPECT_DOUBLE_EQ(r->activations[0].token_median_magnitude, 1.0);  // even d: mean of middles
  EXPECT_EQ(r->count_per_layer, (std::vector<int64_t>{1, 0}));
  EXPECT_DOUBLE_EQ(r->max_magnitude_per_layer[1], 150.0);  // the ∞ token is skipped
  EXPECT_EQ(r->health_per_layer[1].num_posinf, 1);
  MassiveActivationOptions loose;
  loose.median_ratio = 100.0;
  EXPECT_EQ(FindMassiveActivations(h, loose)->count_per_layer, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(FindMassiveActivations(at::zeros({3})).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sinkscope::analyzers::sink
