// Ablation effect on hand-built attention: known α_t and first-token-mass changes, exact zeros for
// identical runs and for the control layer, NaN counted and marked, shapes checked.
#include "analyzers/decomposition/ablation_effect.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace sinkscope::analyzers::decomposition {
namespace {

at::Tensor Matrix3(std::initializer_list<double> values) {
  return at::tensor(std::vector<double>(values), at::kDouble).view({3, 3});
}

// Causal, 2 layers × 2 heads × 3 tokens. Layer 0 is the same in both runs (the ablated layer);
// in layer 1 head 0 moves attention to key 0, head 1 is unchanged.
struct Runs {
  at::Tensor baseline, ablated;
};

Runs CausalRuns() {
  at::Tensor l0h0 = Matrix3({1, 0, 0, 0.3, 0.7, 0, 0.1, 0.1, 0.8});
  at::Tensor l0h1 = Matrix3({1, 0, 0, 0.6, 0.4, 0, 0.2, 0.2, 0.6});
  at::Tensor base_l1h0 = Matrix3({1, 0, 0, 0.5, 0.5, 0, 0.2, 0.3, 0.5});
  at::Tensor abl_l1h0 = Matrix3({1, 0, 0, 0.9, 0.1, 0, 0.6, 0.2, 0.2});
  at::Tensor l1h1 = Matrix3({1, 0, 0, 0.25, 0.75, 0, 0.5, 0.25, 0.25});
  Runs r;
  r.baseline = at::stack({at::stack({l0h0, l0h1}), at::stack({base_l1h0, l1h1})});
  r.ablated = at::stack({at::stack({l0h0, l0h1}), at::stack({abl_l1h0, l1h1})});
  return r;
}

TEST(AblationEffectTest, KnownAlphaAndFirstTokenChangesInTheLaterLayer) {
  Runs runs = CausalRuns();
  AblationEffectOptions options;
  options.ablated_layer = 0;
  options.token = 0;
  auto r = ComputeAblationEffect(runs.baseline, runs.ablated, {}, {}, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->causal);
  EXPECT_EQ(r->num_heads, 2);
  EXPECT_EQ(r->num_tokens, 3);
  EXPECT_EQ(r->num_invalid, 0);
  ASSERT_EQ(r->layers.size(), 2u);

  // Control: layer 0 is identical → every change exactly 0.
  const LayerAblationEffect& control = r->layers[0];
  EXPECT_TRUE(control.control);
  EXPECT_EQ(control.layer, 0);
  ASSERT_EQ(control.heads.size(), 3u);
  for (const auto& h : control.heads) {
    EXPECT_EQ(h.alpha_change, 0.0);
    EXPECT_EQ(h.first_token_mass_change, 0.0);
    EXPECT_EQ(h.max_abs_attention_change, 0.0);
  }
  EXPECT_EQ(r->control_max_abs_attention_change, 0.0);

  const LayerAblationEffect& later = r->layers[1];
  EXPECT_FALSE(later.control);
  EXPECT_EQ(later.layer, 1);
  EXPECT_FALSE(later.has_hidden);
  const HeadAblationEffect& h0 = later.heads[0];
  // α_0 = (1/3) Σ_i A_i0: (1 + 0.5 + 0.2)/3 → (1 + 0.9 + 0.6)/3.
  EXPECT_NEAR(h0.alpha_baseline, 1.7 / 3, 1e-15);
  EXPECT_NEAR(h0.alpha_ablated, 2.5 / 3, 1e-15);
  EXPECT_NEAR(h0.alpha_change, 0.8 / 3, 1e-15);
  // f = mean over queries 1, 2 of A_i0: (0.5 + 0.2)/2 → (0.9 + 0.6)/2.
  EXPECT_NEAR(h0.first_token_mass_baseline, 0.35, 1e-15);
  EXPECT_NEAR(h0.first_token_mass_ablated, 0.75, 1e-15);
  EXPECT_NEAR(h0.first_token_mass_change, 0.4, 1e-15);
  EXPECT_NEAR(h0.max_abs_attention_change, 0.4, 1e-15);
  // Head 1 unchanged: exact zeros.
  EXPECT_EQ(later.heads[1].head, 1);
  EXPECT_EQ(later.heads[1].alpha_change, 0.0);
  EXPECT_EQ(later.heads[1].max_abs_attention_change, 0.0);
  // Head mean: half of head 0's change; max |ΔĀ| = 0.4/2.
  const HeadAblationEffect& mean = later.heads[2];
  EXPECT_EQ(mean.head, kHeadMean);
  EXPECT_NEAR(mean.alpha_change, 0.4 / 3, 1e-15);
  EXPECT_NEAR(mean.first_token_mass_change, 0.2, 1e-15);
  EXPECT_NEAR(mean.max_abs_attention_change, 0.2, 1e-15);
  EXPECT_NEAR(r->max_abs_alpha_change, 0.4 / 3, 1e-15);
  EXPECT_EQ(r->max_abs_alpha_change_layer, 1);
  EXPECT_NEAR(r->max_abs_first_token_mass_change, 0.2, 1e-15);
  EXPECT_EQ(r->max_abs_first_token_mass_change_layer, 1);
}

TEST(AblationEffectTest, AlphaOfAnotherTokenAveragesOverTheQueriesThatSeeIt) {
  Runs runs = CausalRuns();
  AblationEffectOptions options;
  options.token = 1;
  auto r = ComputeAblationEffect(runs.baseline, runs.ablated, {}, {}, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const HeadAblationEffect& h0 = r->layers[1].heads[0];
  // α_1 = (1/2) Σ_{i≥1} A_i1: (0.5 + 0.3)/2 → (0.1 + 0.2)/2.
  EXPECT_NEAR(h0.alpha_baseline, 0.4, 1e-15);
  EXPECT_NEAR(h0.alpha_ablated, 0.15, 1e-15);
  EXPECT_NEAR(h0.alpha_change, -0.25, 1e-15);
  // First-token mass does not depend on t.
  EXPECT_NEAR(h0.first_token_mass_change, 0.4, 1e-15);
}

TEST(AblationEffectTest, IdenticalRunsGiveExactlyZeroEverywhere) {
  at::Generator g = at::detail::createCPUGenerator(7);
  at::Tensor a = at::softmax(at::randn({3, 4, 6, 6}, g, at::TensorOptions().dtype(at::kFloat)), -1);
  at::Tensor h = at::randn({3, 6, 16}, g, at::TensorOptions().dtype(at::kFloat));
  AblationEffectOptions options;
  options.ablated_layer = 1;
  options.token = 2;
  auto r = ComputeAblationEffect(a, a.clone(), h, h.clone(), options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->causal);          // dense softmax: bidirectional
  ASSERT_EQ(r->layers.size(), 2u);  // layers 1 (control) and 2
  EXPECT_EQ(r->layers[0].layer, 1);
  for (const auto& layer : r->layers) {
    ASSERT_EQ(layer.heads.size(), 5u);
    for (const auto& e : layer.heads) {
      EXPECT_TRUE(e.valid);
      EXPECT_EQ(e.alpha_change, 0.0);
      EXPECT_EQ(e.first_token_mass_change, 0.0);
      EXPECT_EQ(e.max_abs_attention_change, 0.0);
      EXPECT_EQ(e.alpha_baseline, e.alpha_ablated);
    }
    ASSERT_TRUE(layer.has_hidden);
    EXPECT_EQ(layer.hidden.change_norm, 0.0);
    EXPECT_EQ(layer.hidden.relative_change, 0.0);
    EXPECT_GT(layer.hidden.baseline_norm, 0.0);
  }
  EXPECT_EQ(r->max_abs_alpha_change, 0.0);
  EXPECT_EQ(r->max_abs_alpha_change_layer, 2);
}

TEST(AblationEffectTest, BidirectionalAlphaIsTheColumnMeanAndHiddenChangeIsRelative) {
  // n = 2, one head, two layers; bidirectional: α_0 and f over every row.
  at::Tensor same = at::tensor({0.5, 0.5, 0.5, 0.5}, at::kDouble).view({1, 1, 2, 2});
  at::Tensor base1 = at::tensor({0.6, 0.4, 0.2, 0.8}, at::kDouble).view({1, 1, 2, 2});
  at::Tensor abl1 = at::tensor({0.9, 0.1, 0.7, 0.3}, at::kDouble).view({1, 1, 2, 2});
  at::Tensor base = at::cat({same, base1}), abl = at::cat({same, abl1});
  at::Tensor hb = at::zeros({2, 2, 2}, at::kDouble), ha = at::zeros({2, 2, 2}, at::kDouble);
  hb[0][0] = at::tensor({1.0, 2.0}, at::kDouble);
  ha[0][0] = at::tensor({1.0, 2.0}, at::kDouble);
  hb[1][0] = at::tensor({3.0, 4.0}, at::kDouble);
  ha[1][0] = at::tensor({3.0, 5.0}, at::kDouble);
  AblationEffectOptions options;
  options.causality = sink::Causality::kBidirectional;
  auto r = ComputeAblationEffect(base, abl, hb, ha, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->causal);
  const HeadAblationEffect& h = r->layers[1].heads[0];
  EXPECT_NEAR(h.alpha_baseline, 0.4, 1e-15);
  EXPECT_NEAR(h.alpha_ablated, 0.8, 1e-15);
  EXPECT_NEAR(h.first_token_mass_change, 0.4, 1e-15);  // f = α_0 for bidirectional attention
  EXPECT_NEAR(h.max_abs_attention_change, 0.5, 1e-15);
  EXPECT_EQ(r->layers[0].hidden.relative_change, 0.0);
  EXPECT_NEAR(r->layers[1].hidden.baseline_norm, 5.0, 1e-15);
  EXPECT_NEAR(r->layers[1].hidden.change_norm, 1.0, 1e-15);
  EXPECT_NEAR(r->layers[1].hidden.relative_change, 0.2, 1e-15);
}

TEST(AblationEffectTest, NonFiniteEntriesAreCountedAndMarkedInvalidNotZero) {
  Runs runs = CausalRuns();
  runs.ablated[1][1][2][1] = std::numeric_limits<double>::quiet_NaN();
  runs.ablated[1][1][2][2] = std::numeric_limits<double>::infinity();
  AblationEffectOptions options;
  auto r = ComputeAblationEffect(runs.baseline, runs.ablated, {}, {}, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Head 1 and the head mean of the ablated layer 1 are invalid.
  EXPECT_EQ(r->num_invalid, 2);
  const auto& heads = r->layers[1].heads;
  EXPECT_TRUE(heads[0].valid);
  EXPECT_NEAR(heads[0].alpha_change, 0.8 / 3, 1e-15);
  for (size_t i : {1u, 2u}) {
    EXPECT_FALSE(heads[i].valid);
    EXPECT_TRUE(std::isnan(heads[i].alpha_change));
    EXPECT_TRUE(std::isnan(heads[i].first_token_mass_change));
    EXPECT_TRUE(std::isnan(heads[i].max_abs_attention_change));
    EXPECT_TRUE(std::isnan(heads[i].alpha_ablated));
    EXPECT_FALSE(std::isnan(heads[i].alpha_baseline));  // the baseline itself is fine
    EXPECT_TRUE(heads[i].baseline_health.valid());
  }
  EXPECT_EQ(heads[1].ablated_health.num_nan, 1);
  EXPECT_EQ(heads[1].ablated_health.num_posinf, 1);
  // No valid head mean in a later layer: no maximum either.
  EXPECT_TRUE(std::isnan(r->max_abs_alpha_change));
  EXPECT_EQ(r->max_abs_alpha_change_layer, -1);

  // A NaN in the hidden state of the token marks that layer's hidden change invalid.
  at::Tensor hb = at::ones({2, 3, 4}, at::kDouble), ha = hb.clone();
  ha[1][0][3] = std::numeric_limits<double>::quiet_NaN();
  auto rh = ComputeAblationEffect(runs.baseline, runs.baseline, hb, ha, options);
  ASSERT_TRUE(rh.ok()) << rh.status().ToString();
  EXPECT_TRUE(rh->layers[0].hidden.valid);
  EXPECT_FALSE(rh->layers[1].hidden.valid);
  EXPECT_EQ(rh->layers[1].hidden.health.num_nan, 1);
  EXPECT_TRUE(std::isnan(rh->layers[1].hidden.relative_change));
}

TEST(AblationEffectTest, FirstLayerOffsetNamesTheModelLayers) {
  Runs runs = CausalRuns();
  AblationEffectOptions options;
  options.first_layer = 5;  // the tensors hold layers 5 and 6
  options.ablated_layer = 5;
  auto r = ComputeAblationEffect(runs.baseline, runs.ablated, {}, {}, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->layers.size(), 2u);
  EXPECT_EQ(r->layers[0].layer, 5);
  EXPECT_EQ(r->layers[1].layer, 6);
  EXPECT_NEAR(r->layers[1].heads[0].alpha_change, 0.8 / 3, 1e-15);
  // Ablating the last layer leaves only the control.
  options.ablated_layer = 6;
  auto last = ComputeAblationEffect(runs.baseline, runs.ablated, {}, {}, options);
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  ASSERT_EQ(last->layers.size(), 1u);
  EXPECT_TRUE(last->layers[0].control);
  EXPECT_NEAR(last->control_max_abs_attention_change, 0.4, 1e-15);  // not 0: runs differ there
  EXPECT_TRUE(std::isnan(last->max_abs_alpha_change));
}

TEST(AblationEffectTest, RejectsBadShapesWithTheShapes) {
  Runs runs = CausalRuns();
  AblationEffectOptions options;
  struct Case {
    at::Tensor base, abl, hb, ha;
    int64_t layer, token;
    std::string fragment;
  };
  at::Tensor h = at::zeros({2, 3, 4}, at::kDouble);
  std::vector<Case> cases = {
      {runs.baseline,
       runs.ablated.narrow(2, 0, 2).narrow(3, 0, 2),
       {},
       {},
       0,
       0,
       "ablated attention has shape [2, 2, 2, 2] but the baseline has [2, 2, 3, 3]"},
      {runs.baseline[0], runs.ablated[0], {}, {}, 0, 0, "got shape [2, 3, 3]"},
      {runs.baseline.narrow(3, 0, 2), runs.ablated.narrow(3, 0, 2), {}, {}, 0, 0, "square"},
      {runs.baseline, runs.ablated, {}, {}, 2, 0, "ablated layer 2 is not among the layers"},
      {runs.baseline, runs.ablated, {}, {}, -1, 0, "ablated layer -1"},
      {runs.baseline, runs.ablated, {}, {}, 0, 3, "token 3 is outside the input [0, 3)"},
      {runs.baseline, runs.ablated, h, {}, 0, 0, "both runs or for neither"},
      {runs.baseline, runs.ablated, h.narrow(1, 0, 2), h.narrow(1, 0, 2), 0, 0,
       "got shape [2, 2, 4]"},
      {runs.baseline, runs.ablated, h, h.narrow(2, 0, 3), 0, 0,
       "ablated hidden states have shape [2, 3, 3] but the baseline's have [2, 3, 4]"},
      {at::Tensor(), runs.ablated, {}, {}, 0, 0, "both needed"},
  };
  for (const auto& c : cases) {
    options.ablated_layer = c.layer;
    options.token = c.token;
    auto r = ComputeAblationEffect(c.base, c.abl, c.hb, c.ha, options);
    ASSERT_FALSE(r.ok()) << c.fragment;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.fragment;
    EXPECT_NE(r.status().message().find(c.fragment), std::string::npos)
        << r.status().ToString() << " lacks '" << c.fragment << "'";
  }
}

}  // namespace
}  // namespace sinkscope::analyzers::decomposition
