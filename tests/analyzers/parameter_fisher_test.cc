// Layer-wise empirical Fisher (analyzers/infogeo/parameter_fisher) on hand-built parameter lists.
// Expected statistics from scipy 1.17.1 (pearsonr, spearmanr, kendalltau(method="asymptotic"),
// polyfit) on F = (3, 1, 4, 4, 4, 6) over layers 0..5; tolerance 1e-12.
#include "analyzers/infogeo/parameter_fisher.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sinkscope::analyzers::infogeo {
namespace {

constexpr double kTol = 1e-12;
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(ParameterFisherTest, LayerRuleFollowsThePaper) {
  EXPECT_EQ(FisherLayerOf("gpt_neox.layers.12.attention.dense.weight", false), 12);
  EXPECT_EQ(FisherLayerOf("model.layers.0.mlp.up_proj.weight", false), 0);
  EXPECT_EQ(FisherLayerOf("layers.7.mlp.fc1.bias", false), 7);
  EXPECT_EQ(FisherLayerOf("roberta.encoder.layer.3.output.dense.bias", false), 3);
  EXPECT_EQ(FisherLayerOf("gpt_neox.embed_in.weight", false), -1);
  EXPECT_EQ(FisherLayerOf("gpt_neox.final_layer_norm.weight", false), -1);
  EXPECT_EQ(FisherLayerOf("model.layers.x.foo.weight", false), -1);
  // "layers." without an integer falls through to the "layer." rule.
  EXPECT_EQ(FisherLayerOf("a.layers.b.layer.4.w", false), 4);
  // GPT-2 blocks: "other" under the PAPER rule, numbered under CORRECTED.
  EXPECT_EQ(FisherLayerOf("transformer.h.2.attn.c_attn.weight", false), -1);
  EXPECT_EQ(FisherLayerOf("transformer.h.2.attn.c_attn.weight", true), 2);
  EXPECT_EQ(FisherLayerOf("h.11.mlp.c_fc.bias", true), 11);
  EXPECT_EQ(FisherLayerOf("lm_head.weight", true), -1);
}

// Every row of spec §3.3's "consequences of the keyword rules" table, plus first-match order.
TEST(ParameterFisherTest, PaperKeywordGroupsReproduceTheConsequencesTable) {
  EXPECT_EQ(PaperFisherGroupOf("gpt_neox.layers.0.post_attention_layernorm.weight"), "attention");
  EXPECT_EQ(PaperFisherGroupOf("model.layers.0.post_attention_layernorm.weight"), "attention");
  EXPECT_EQ(PaperFisherGroupOf("embed_out.weight"), "embedding");
  EXPECT_EQ(PaperFisherGroupOf("roberta.encoder.layer.0.attention.output.LayerNorm.weight"),
            "attention");
  EXPECT_EQ(PaperFisherGroupOf("gpt_neox.layers.0.input_layernorm.weight"), "");
  EXPECT_EQ(PaperFisherGroupOf("model.layers.0.input_layernorm.weight"), "");
  EXPECT_EQ(PaperFisherGroupOf("model.norm.weight"), "");
  EXPECT_EQ(PaperFisherGroupOf("gpt_neox.final_layer_norm.weight"), "");
  EXPECT_EQ(PaperFisherGroupOf("roberta.encoder.layer.0.output.LayerNorm.weight"), "");
  EXPECT_EQ(PaperFisherGroupOf("lm_head.dense.weight"), "mlp");
  EXPECT_EQ(FisherLayerOf("lm_head.dense.weight", false), -1);  // its layer is "other"
  EXPECT_EQ(PaperFisherGroupOf("model.embed_tokens.weight"), "embedding");
  // First match wins; case-insensitive.
  EXPECT_EQ(PaperFisherGroupOf("gpt_neox.layers.0.attention.dense.weight"), "attention");
  EXPECT_EQ(PaperFisherGroupOf("gpt_neox.layers.0.mlp.dense_h_to_4h.weight"), "mlp");
  EXPECT_EQ(PaperFisherGroupOf("transformer.h.0.attn.c_attn.weight"), "attention");
  EXPECT_EQ(PaperFisherGroupOf("transformer.wte.weight"), "embedding");
  EXPECT_EQ(PaperFisherGroupOf("transformer.wpe.weight"), "embedding");
  EXPECT_EQ(PaperFisherGroupOf("Model.Layers.0.MLP.X"), "mlp");
  EXPECT_EQ(PaperFisherGroupOf("lm_head.weight"), "");
}

TEST(ParameterFisherTest, CorrectedGroupsUseModulePaths) {
  for (const char* n :
       {"model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.bias",
        "model.layers.0.self_attn.v_proj.weight", "model.layers.0.self_attn.o_proj.weight",
        "gpt_neox.layers.1.attention.query_key_value.weight",
        "gpt_neox.layers.1.attention.dense.bias", "transformer.h.0.attn.c_attn.weight",
        "transformer.h.0.attn.c_proj.bias", "model.layers.0.self_attn.dense.weight"}) {
    EXPECT_EQ(CorrectedFisherGroupOf(n), "attention") << n;
  }
  for (const char* n :
       {"model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.gate_proj.weight",
        "model.layers.0.mlp.down_proj.weight", "transformer.h.0.mlp.c_fc.weight",
        "transformer.h.0.mlp.c_proj.bias", "gpt_neox.layers.0.mlp.dense_h_to_4h.weight",
        "gpt_neox.layers.0.mlp.dense_4h_to_h.bias", "model.layers.0.mlp.fc1.weight",
        "model.layers.0.mlp.fc2.bias"}) {
    EXPECT_EQ(CorrectedFisherGroupOf(n), "mlp") << n;
  }
  for (const char* n :
       {"model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight",
        "model.norm.weight", "gpt_neox.final_layer_norm.bias", "transformer.h.0.ln_1.weight",
        "transformer.ln_f.bias", "model.final_layernorm.weight"}) {
    EXPECT_EQ(CorrectedFisherGroupOf(n), "norm") << n;
  }
  for (const char* n : {"model.embed_tokens.weight", "gpt_neox.embed_in.weight",
                        "transformer.wte.weight", "transformer.wpe.weight"}) {
    EXPECT_EQ(CorrectedFisherGroupOf(n), "embedding") << n;
  }
  for (const char* n : {"lm_head.weight", "lm_head.bias", "embed_out.weight"}) {
    EXPECT_EQ(CorrectedFisherGroupOf(n), "lm_head") << n;
  }
  EXPECT_EQ(CorrectedFisherGroupOf("model.layers.0.foo.weight"), "");
  EXPECT_EQ(CorrectedFisherGroupOf("lm_head.dense.weight"), "");
}

// Two samples over a 6-layer LLaMA-like list: F = (3, 1, 4, 4, 4, 6), other = 16.5.
std::vector<SampleGradients> SixLayerSamples() {
  struct Row {
    const char* name;
    int64_t numel;
    double f0, f1;
  };
  const std::vector<Row> rows = {
      {"model.layers.0.self_attn.q_proj.weight", 4, 2, 4},
      {"model.layers.1.mlp.up_proj.weight", 2, 1, 1},
      {"model.layers.2.self_attn.q_proj.weight", 4, 3, 5},
      {"model.layers.3.input_layernorm.weight", 1, 4, 4},
      {"model.layers.4.mlp.down_proj.weight", 8, 8, 0},
      {"model.layers.5.self_attn.o_proj.weight", 3, 6, 6},
      {"model.embed_tokens.weight", 10, 10, 20},
      {"lm_head.weight", 10, 1, 1},
      {"model.norm.weight", 1, 0.5, 0.5},
  };
  std::vector<SampleGradients> samples(2);
  for (const auto& r : rows) {
    samples[0].push_back({r.name, r.numel, r.f0, r.f0});
    samples[1].push_back({r.name, r.numel, r.f1, r.f1});
  }
  return samples;
}

TEST(ParameterFisherTest, CorrectedTracesAverageOverSamples) {
  auto r = ComputeParameterFisher(SixLayerSamples(), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->num_samples, 2);
  EXPECT_NE(r->quantity.find("empirical Fisher"), std::string::npos);
  ASSERT_EQ(r->layers.size(), 7u);
  const std::vector<double> want = {3, 1, 4, 4, 4, 6, 16.5};
  const std::vector<int64_t> numel = {4, 2, 4, 1, 8, 3, 21};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(r->layers[i].trace, want[i], kTol) << r->layers[i].key;
    EXPECT_EQ(r->layers[i].num_parameters, numel[i]) << r->layers[i].key;
    EXPECT_NEAR(r->layers[i].per_parameter_trace, want[i] / static_cast<double>(numel[i]), kTol);
  }
  EXPECT_EQ(r->layers[0].key, "layer_0");
  EXPECT_EQ(r->layers[6].key, "other");
  EXPECT_NEAR(r->total, 38.5, kTol);
  EXPECT_EQ(r->num_parameters, 43);
  EXPECT_EQ(r->num_nonfinite, 0);
  EXPECT_EQ(r->num_zero_skipped, 0);  // CORRECTED keeps zero gradients (they count in #params)

  ASSERT_EQ(r->groups.size(), 5u);
  const std::vector<std::string> names = {"attention", "mlp", "norm", "embedding", "lm_head"};
  const std::vector<double> traces = {13, 5, 4.5, 15, 1};
  const std::vector<int64_t> group_numel = {11, 10, 2, 10, 10};
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(r->groups[i].name, names[i]);
    EXPECT_NEAR(r->groups[i].trace, traces[i], kTol) << names[i];
    EXPECT_EQ(r->groups[i].num_parameters, group_numel[i]) << names[i];
    EXPECT_NEAR(r->groups[i].per_parameter_trace, traces[i] / static_cast<double>(group_numel[i]),
                kTol);
  }
  EXPECT_TRUE(r->ungrouped.empty());

  ASSERT_TRUE(r->layer_position_pearson && r->layer_position_spearman && r->trend);
  EXPECT_NEAR(r->layer_position_pearson->r, 0.7855844048495726, kTol);
  EXPECT_NEAR(r->layer_position_pearson->p_value, 0.06403229479350923, 1e-10);
  EXPECT_NEAR(r->layer_position_spearman->r, 0.8804062740424288, kTol);
  EXPECT_NEAR(r->layer_position_spearman->p_value, 0.02059873477492037, 1e-10);
  EXPECT_EQ(r->trend->n, 6);
  EXPECT_EQ(r->trend->kendall_s, 10);
  EXPECT_NEAR(r->trend->tau_b, 0.7453559924999299, kTol);
  EXPECT_NEAR(r->trend->p_value, 0.044065400736826854, 1e-10);
  EXPECT_NEAR(r->trend->ols_slope, 0.6857142857142857, kTol);
  EXPECT_FALSE(r->paper_consecutive.has_value());
  EXPECT_FALSE(r->paper_significance.has_value());
}

TEST(ParameterFisherTest, PaperModeGroupsWindowsAndSignificance) {
  auto r = ComputeParameterFisher(SixLayerSamples(), {.mode = FisherMode::kPaper});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(r->quantity.find("PAPER"), std::string::npos);
  ASSERT_EQ(r->layers.size(), 7u);
  EXPECT_NEAR(r->layers[4].trace, 4, kTol);
  EXPECT_EQ(r->num_zero_skipped, 1);  // layer 4's second sample: an all-zero gradient
  EXPECT_NEAR(r->total, 38.5, kTol);
  EXPECT_EQ(r->layers[0].per_parameter_trace, 0);  // CORRECTED only
  ASSERT_EQ(r->groups.size(), 3u);
  EXPECT_EQ(r->groups[0].name, "attention");
  EXPECT_NEAR(r->groups[0].trace, 13, kTol);  // q, q, o; input_layernorm in no group
  EXPECT_EQ(r->groups[1].name, "mlp");
  EXPECT_NEAR(r->groups[1].trace, 5, kTol);
  EXPECT_EQ(r->groups[2].name, "embedding");
  EXPECT_NEAR(r->groups[2].trace, 15, kTol);
  EXPECT_EQ(r->ungrouped,
            (std::vector<std::string>{"lm_head.weight", "model.layers.3.input_layernorm.weight",
                                      "model.norm.weight"}));
  // Windows (3,1,4), (1,4,4), (4,4,6); (4,4,4) skipped.
  ASSERT_TRUE(r->paper_consecutive.has_value());
  EXPECT_EQ(r->paper_consecutive->num_windows, 3);
  EXPECT_EQ(r->paper_consecutive->num_skipped, 1);
  EXPECT_NEAR(r->paper_consecutive->mean_r, 0.6864592143076219, 1e-12);
  EXPECT_NEAR(r->paper_consecutive->mean_p, 0.48479035055233677, 1e-10);
  EXPECT_EQ(r->paper_consecutive->fraction_significant, 0);
  ASSERT_TRUE(r->paper_significance.has_value());
  EXPECT_EQ(r->paper_significance->total_tests, 2);
  EXPECT_EQ(r->paper_significance->significant_tests, 0);  // p = 0.064 and 0.48
  EXPECT_FALSE(r->trend.has_value());
}

TEST(ParameterFisherTest, PaperReadsFp16NormsAndCountsOverflow) {
  auto samples = SixLayerSamples();
  samples[0][0].paper_fp16_squared_norm = kInf;  // ‖g‖ rounded above 65504
  samples[1][1].paper_fp16_squared_norm = 7.0;   // differs from the fp32 value 1.0
  auto paper = ComputeParameterFisher(samples, {.mode = FisherMode::kPaper});
  ASSERT_TRUE(paper.ok()) << paper.status().ToString();
  EXPECT_EQ(paper->num_fp16_overflow, 1);
  EXPECT_EQ(paper->num_nonfinite, 1);
  EXPECT_TRUE(std::isinf(paper->layers[0].trace));
  EXPECT_TRUE(std::isinf(paper->total));
  EXPECT_NEAR(paper->layers[1].trace, 4, kTol);  // (1 + 7) / 2
  // CORRECTED ignores the fp16 values.
  auto corrected = ComputeParameterFisher(samples, {});
  ASSERT_TRUE(corrected.ok());
  EXPECT_EQ(corrected->num_fp16_overflow, 0);
  EXPECT_NEAR(corrected->layers[0].trace, 3, kTol);
  EXPECT_NEAR(corrected->layers[1].trace, 1, kTol);
}

TEST(ParameterFisherTest, CorrectedCountsNonFiniteAndKeepsThem) {
  auto samples = SixLayerSamples();
  samples[1][2].squared_norm = std::numeric_limits<double>::quiet_NaN();
  auto r = ComputeParameterFisher(samples, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->num_nonfinite, 1);
  EXPECT_TRUE(std::isnan(r->layers[2].trace));
  ASSERT_TRUE(r->trend.has_value());  // no rank for a NaN trace: the trend test is NaN too
  EXPECT_TRUE(std::isnan(r->trend->p_value));
  EXPECT_TRUE(std::isnan(r->trend->kendall_s));
  EXPECT_TRUE(std::isnan(r->layer_position_pearson->r));
}

TEST(ParameterFisherTest, Gpt2BlocksAreOtherInPaperAndLayersInCorrected) {
  std::vector<SampleGradients> samples(1);
  samples[0] = {{"transformer.h.0.attn.c_attn.weight", 6, 1.0, 1.0},
                {"transformer.h.1.attn.c_attn.weight", 6, 2.0, 2.0},
                {"transformer.wte.weight", 6, 4.0, 4.0}};
  auto paper = ComputeParameterFisher(samples, {.mode = FisherMode::kPaper});
  ASSERT_TRUE(paper.ok());
  ASSERT_EQ(paper->layers.size(), 1u);
  EXPECT_EQ(paper->layers[0].key, "other");
  EXPECT_NEAR(paper->layers[0].trace, 7, kTol);
  EXPECT_FALSE(paper->layer_position_pearson.has_value());
  EXPECT_FALSE(paper->paper_consecutive.has_value());
  EXPECT_EQ(paper->paper_significance->total_tests, 0);
  auto corrected = ComputeParameterFisher(samples, {});
  ASSERT_TRUE(corrected.ok());
  ASSERT_EQ(corrected->layers.size(), 3u);
  EXPECT_EQ(corrected->layers[1].key, "layer_1");
  ASSERT_TRUE(corrected->trend.has_value());
  EXPECT_EQ(corrected->trend->kendall_s, 1);
  EXPECT_NEAR(corrected->trend->ols_slope, 1, kTol);
}

TEST(ParameterFisherTest, RejectsBadInput) {
  EXPECT_EQ(ComputeParameterFisher({}, {}).status().code(), StatusCode::kInvalidArgument);
  auto dup = SixLayerSamples();
  dup[0].push_back(dup[0][0]);
  EXPECT_EQ(ComputeParameterFisher(dup, {}).status().code(), StatusCode::kInvalidArgument);
  auto numel = SixLayerSamples();
  numel[1][0].numel = 5;
  EXPECT_EQ(ComputeParameterFisher(numel, {}).status().code(), StatusCode::kInvalidArgument);
  auto zero_numel = SixLayerSamples();
  zero_numel[0][0].numel = 0;
  EXPECT_EQ(ComputeParameterFisher(zero_numel, {}).status().code(), StatusCode::kInvalidArgument);
  auto negative = SixLayerSamples();
  negative[0][3].squared_norm = -1;
  EXPECT_EQ(ComputeParameterFisher(negative, {}).status().code(), StatusCode::kInvalidArgument);
  auto no_fp16 = SixLayerSamples();
  no_fp16[1][4].paper_fp16_squared_norm.reset();
  EXPECT_TRUE(ComputeParameterFisher(no_fp16, {}).ok());
  auto s = ComputeParameterFisher(no_fp16, {.mode = FisherMode::kPaper}).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("fp16"), std::string::npos);
  EXPECT_EQ(ComputeParameterFisher(SixLayerSamples(), {.alpha = 0}).status().code(),
            StatusCode::kInvalidArgument);
  auto empty_name = SixLayerSamples();
  empty_name[0][0].name.clear();
  EXPECT_EQ(ComputeParameterFisher(empty_name, {}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sinkscope::analyzers::infogeo
