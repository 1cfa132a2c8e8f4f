// The MLP-output ablation experiment end to end on the tiny fixture models (spec
// sinks-frames-decomposition §3): runtime forward with an MlpIntervention → captures of both
// runs → ComputeAblationEffect. Checked: scale 1 changes nothing (exactly); scale 0 or direction
// ablation at layer 0, token 0 leaves layer 0's attention unchanged (exactly) and changes layer
// 1's; the reported α and first-token mass equal those computed directly from the captures; the
// direction ablation along the token's own MLP output equals removing that output.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "analyzers/decomposition/ablation_effect.h"
#include "analyzers/sink/sink_metrics.h"
#include "models/model.h"
#include "tests/support/test_support.h"

namespace sinkscope::models {
namespace {

namespace dec = analyzers::decomposition;

struct Captures {
  at::Tensor attention;  // [L, H, n, n]
  at::Tensor hidden_in;  // [L, n, D]
  at::Tensor mlp_out;    // [L, n, D]
};

class AblationOnTinyModelsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const auto dir = sinkscope::testing::FixturesDir() / "tiny" / GetParam();
    auto model = LoadModel(dir.string(), LoadOptions{});
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    model_ = std::move(model).value();
  }

  Captures Forward(const Interventions& interventions) {
    ForwardOptions options;
    options.capture.Enable(CapturePoint::kAttention);
    options.capture.Enable(CapturePoint::kHiddenIn);
    options.capture.Enable(CapturePoint::kMlpOut);
    options.interventions = interventions;
    std::vector<at::Tensor> attention, hidden, mlp;
    auto out = model_->Forward(MakeBatch({ids_}, PaddingSide::kRight, model_->info().pad_token_id),
                               options, [&](const LayerCapture& c) {
                                 attention.push_back(c.Get(CapturePoint::kAttention)[0]);
                                 hidden.push_back(c.Get(CapturePoint::kHiddenIn)[0]);
                                 mlp.push_back(c.Get(CapturePoint::kMlpOut)[0]);
                                 return OkStatus();
                               });
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    if (!out.ok()) return {};
    return {at::stack(attention), at::stack(hidden), at::stack(mlp)};
  }

  static Interventions Scale(int layer, double scale) {
    MlpIntervention iv;
    iv.kind = MlpIntervention::Kind::kScale;
    iv.layers = {layer};
    iv.tokens = {0};
    iv.scale = scale;
    Interventions out;
    out.mlp.push_back(iv);
    return out;
  }

  static dec::AblationEffectResult Effect(const Captures& base, const Captures& abl,
                                          int64_t layer) {
    dec::AblationEffectOptions options;
    options.ablated_layer = layer;
    options.token = 0;
    auto r = dec::ComputeAblationEffect(base.attention, abl.attention, base.hidden_in,
                                        abl.hidden_in, options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : dec::AblationEffectResult{};
  }

  std::unique_ptr<Model> model_;
  const std::vector<int64_t> ids_ = {5, 17, 23, 42, 8, 9, 31, 2};
};

TEST_P(AblationOnTinyModelsTest, ScaleOneChangesNothingAnywhere) {
  Captures base = Forward({});
  Captures same = Forward(Scale(0, 1.0));
  ASSERT_TRUE(base.attention.defined() && same.attention.defined());
  EXPECT_TRUE(at::equal(base.attention, same.attention));
  dec::AblationEffectResult r = Effect(base, same, 0);
  ASSERT_EQ(r.layers.size(), static_cast<size_t>(model_->info().num_layers));
  EXPECT_EQ(r.num_invalid, 0);
  for (const auto& layer : r.layers) {
    for (const auto& h : layer.heads) {
      EXPECT_EQ(h.alpha_change, 0.0) << "layer " << layer.layer << " head " << h.head;
      EXPECT_EQ(h.first_token_mass_change, 0.0);
      EXPECT_EQ(h.max_abs_attention_change, 0.0);
    }
    ASSERT_TRUE(layer.has_hidden);
    EXPECT_EQ(layer.hidden.relative_change, 0.0);
  }
  EXPECT_EQ(r.max_abs_alpha_change, 0.0);
}

TEST_P(AblationOnTinyModelsTest, RemovingTokenZerosMlpOutputChangesOnlyLaterLayers) {
  const ModelInfo& info = model_->info();
  Captures base = Forward({});
  Captures abl = Forward(Scale(0, 0.0));
  ASSERT_TRUE(base.attention.defined() && abl.attention.defined());
  EXPECT_EQ(abl.mlp_out[0][0].abs().max().item<double>(), 0.0);  // the intervention took hold
  dec::AblationEffectResult r = Effect(base, abl, 0);
  ASSERT_EQ(r.layers.size(), static_cast<size_t>(info.num_layers));
  EXPECT_EQ(r.causal, info.causal);
  EXPECT_EQ(r.num_heads, info.num_heads);

  // Layer 0 (control): attention precedes the MLP, so nothing changed, exactly.
  EXPECT_EQ(r.control_max_abs_attention_change, 0.0);
  EXPECT_TRUE(at::equal(base.attention[0], abl.attention[0]));
  EXPECT_EQ(r.layers[0].hidden.relative_change, 0.0);
  // Layer 1: token 0's residual stream lost its MLP output, and every head's attention moved.
  const dec::LayerAblationEffect& later = r.layers[1];
  EXPECT_GT(later.hidden.relative_change, 1e-3);
  EXPECT_NEAR(later.hidden.change_norm,
              (abl.hidden_in[1][0].to(at::kDouble) - base.hidden_in[1][0].to(at::kDouble))
                  .norm()
                  .item<double>(),
              1e-9);
  for (const auto& h : later.heads) {
    EXPECT_GT(h.max_abs_attention_change, 1e-6) << "head " << h.head;
  }
  EXPECT_EQ(r.max_abs_alpha_change_layer, 1);
  EXPECT_GT(r.max_abs_alpha_change, 0.0);

  // The reported values are those of the captures, computed directly: α_0 = mean attention on
  // key 0 over the queries that see it (all rows), f = over queries other than 0 when causal.
  for (int64_t l = 0; l < info.num_layers; ++l) {
    for (int64_t h = 0; h <= info.num_heads; ++h) {
      const dec::HeadAblationEffect& e = r.layers[l].heads[h];
      auto direct = [&](const at::Tensor& attention) {
        at::Tensor a = attention[l].to(at::kDouble);
        a = h < info.num_heads ? a[h] : a.mean(0);
        const int64_t first_query = info.causal ? 1 : 0;
        const double alpha = a.select(1, 0).mean().item<double>();
        const double f =
            a.select(1, 0).narrow(0, first_query, a.size(0) - first_query).mean().item<double>();
        return std::make_pair(alpha, f);
      };
      auto [alpha_b, f_b] = direct(base.attention);
      auto [alpha_a, f_a] = direct(abl.attention);
      EXPECT_NEAR(e.alpha_baseline, alpha_b, 1e-12) << "layer " << l << " head " << h;
      EXPECT_NEAR(e.alpha_ablated, alpha_a, 1e-12) << "layer " << l << " head " << h;
      EXPECT_NEAR(e.alpha_change, alpha_a - alpha_b, 1e-12);
      EXPECT_NEAR(e.first_token_mass_baseline, f_b, 1e-12);
      EXPECT_NEAR(e.first_token_mass_ablated, f_a, 1e-12);
      EXPECT_NEAR(e.first_token_mass_change, f_a - f_b, 1e-12);
    }
  }
}

TEST_P(AblationOnTinyModelsTest, AblatingTheOutputsOwnDirectionEqualsRemovingIt) {
  Captures base = Forward({});
  // Token 0's own layer-0 MLP output as the direction: projecting it out leaves 0.
  MlpIntervention iv;
  iv.kind = MlpIntervention::Kind::kAblateDirection;
  iv.layers = {0};
  iv.tokens = {0};
  iv.direction = base.mlp_out[0][0].clone();
  Interventions direction;
  direction.mlp.push_back(iv);
  Captures projected = Forward(direction);
  Captures removed = Forward(Scale(0, 0.0));
  ASSERT_TRUE(projected.attention.defined() && removed.attention.defined());
  EXPECT_LT(projected.mlp_out[0][0].abs().max().item<double>(),
            1e-5 * std::max(1.0, base.mlp_out[0][0].abs().max().item<double>()));
  dec::AblationEffectResult by_direction = Effect(base, projected, 0);
  dec::AblationEffectResult by_scale = Effect(base, removed, 0);
  EXPECT_EQ(by_direction.control_max_abs_attention_change, 0.0);
  for (size_t h = 0; h < by_direction.layers[1].heads.size(); ++h) {
    EXPECT_NEAR(by_direction.layers[1].heads[h].alpha_change,
                by_scale.layers[1].heads[h].alpha_change, 1e-5);
    EXPECT_GT(by_direction.layers[1].heads[h].max_abs_attention_change, 1e-6);
  }
}

TEST_P(AblationOnTinyModelsTest, AblatingTheLastLayerLeavesOnlyTheUnchangedControl) {
  const int last = model_->info().num_layers - 1;
  Captures base = Forward({});
  Captures abl = Forward(Scale(last, 0.0));
  ASSERT_TRUE(base.attention.defined() && abl.attention.defined());
  dec::AblationEffectResult r = Effect(base, abl, last);
  ASSERT_EQ(r.layers.size(), 1u);
  EXPECT_TRUE(r.layers[0].control);
  EXPECT_EQ(r.control_max_abs_attention_change, 0.0);
  EXPECT_TRUE(std::isnan(r.max_abs_alpha_change));  // no later layer
  // Every earlier layer is untouched too.
  EXPECT_TRUE(at::equal(base.attention, abl.attention));
}

INSTANTIATE_TEST_SUITE_P(Archs, AblationOnTinyModelsTest,
                         ::testing::Values("llama", "gpt2", "gpt_neox", "bert"));

}  // namespace
}  // namespace sinkscope::models
