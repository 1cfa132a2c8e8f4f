// Attention–value geometry and reference points against the spec's golden vectors (cases A and B
// of golden_infogeo_value.json, 1e-9 relative; float64 as the reference), plus closed forms for
// the CORRECTED variants.
#include <cmath>
#include <fstream>
#include <limits>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "analyzers/value/attention_value.h"
#include "analyzers/value/reference_point.h"
#include "tests/analyzers/golden_support.h"

namespace sinkscope::analyzers::value {
namespace {

using nlohmann::json;
using testing::CausalSoftmax;
using testing::ExpectRel;
using testing::ExpectVector;
using testing::GoldenInfogeoValue;
using testing::TensorFromJson;

TEST(PaperAttentionValueTest, MatchesGoldenCaseA) {
  const json& c = GoldenInfogeoValue()["caseA"];
  const json& g = c["attention_value"];
  auto r = ComputePaperAttentionValue(TensorFromJson(c["attention"]), TensorFromJson(c["X_pre"]),
                                      TensorFromJson(c["Y_post"]));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectVector(r->paper_entropy, g["entropy"], "entropy");
  ExpectRel(r->paper_entropy_mean, g["entropy_mean"], "entropy mean");
  ExpectRel(r->paper_entropy_std, g["entropy_std"], "entropy std");
  ExpectVector(r->paper_magnitude, g["magnitude"], "magnitude");
  ExpectRel(r->paper_magnitude_std, g["magnitude_std"], "magnitude std");
  ExpectRel(r->paper_geometric_semantic_correlation, g["geometric_semantic_correlation"], "GS");
  ExpectRel(r->paper_entropy_magnitude_correlation, g["entropy_magnitude_correlation"], "EM");
  EXPECT_EQ(r->paper_pca_k, g["pca_k"].get<int64_t>());
  ExpectVector(r->paper_pca_abs_correlations, g["pca_abs_corrs"], "|r_c|");
  ExpectRel(r->paper_pca_average_correlation, g["pca_average_correlation_vflip"], "PCA mean");
  EXPECT_FALSE(r->paper_rescale_triggered);
}

TEST(PaperAttentionValueTest, MatchesGoldenCaseBWithTheRescale) {
  const json& c = GoldenInfogeoValue()["caseB"];
  const json& g = c["attention_value"];
  auto r = ComputePaperAttentionValue(CausalSoftmax(TensorFromJson(c["logits"])),
                                      TensorFromJson(c["X_pre"]), TensorFromJson(c["Y_post"]));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->paper_rescale_triggered);
  ExpectRel(r->paper_entropy_mean, g["entropy_mean"], "entropy mean");
  ExpectVector(r->paper_magnitude, g["magnitude"], "magnitude");
  ExpectRel(r->paper_magnitude_mean, g["magnitude_mean"], "magnitude mean");
  ExpectRel(r->paper_geometric_semantic_correlation, g["geometric_semantic_correlation"], "GS");
  ExpectRel(r->paper_entropy_magnitude_correlation, g["entropy_magnitude_correlation"], "EM");
}

TEST(AttentionValueTest, CorrectedAlignmentVariantsMatchGolden) {
  for (const char* name : {"caseA", "caseB"}) {
    const json& c = GoldenInfogeoValue()[name];
    at::Tensor a = c.contains("attention") ? TensorFromJson(c["attention"])
                                           : CausalSoftmax(TensorFromJson(c["logits"]));
    auto r = ComputeAttentionValue(a, TensorFromJson(c["X_pre"]), TensorFromJson(c["Y_post"]));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->causal);
    const json& g = c["attention_value"];
    ExpectRel(r->gs_allowed_pairs.pearson, g["CORRECTED_r_gs_strict_lower"],
              std::string(name) + " strict lower");
    ExpectRel(r->gs_without_sinks.pearson, g["CORRECTED_r_gs_strict_lower_without_col0"],
              std::string(name) + " without column 0");
    EXPECT_EQ(r->gs_allowed_pairs.n, a.size(-1) * (a.size(-1) - 1) / 2);
  }
}

TEST(AttentionValueTest, PcaCorrelationsMatchGoldenAndIgnoreACommonOffset) {
  // The CORRECTED |r_c| (the centred Gram matrix derived from X Xᵀ) equal the notebook's on the
  // golden case; PCA is translation invariant, so a common offset of every token, moderate (the
  // derived Gram matrix) or 1e4 times the data (the directly centred product), changes nothing.
  const json& c = GoldenInfogeoValue()["caseA"];
  const at::Tensor a = TensorFromJson(c["attention"]);
  const at::Tensor x = TensorFromJson(c["X_pre"]);
  const at::Tensor y = TensorFromJson(c["Y_post"]);
  auto r = ComputeAttentionValue(a, x, y);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectVector(r->pca_abs_correlations, c["attention_value"]["pca_abs_corrs"], "|r_c|");
  const double scale = x.abs().max().item<double>();
  for (double offset : {3.0, 1e4}) {
    const at::Tensor shift = at::linspace(-offset, offset, x.size(1), x.options()) * scale;
    auto s = ComputeAttentionValue(a, x + shift, y + shift);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_EQ(s->pca_abs_correlations.size(), r->pca_abs_correlations.size());
    for (size_t q = 0; q < r->pca_abs_correlations.size(); ++q) {
      EXPECT_NEAR(s->pca_abs_correlations[q], r->pca_abs_correlations[q], 1e-9)
          << "offset " << offset << " component " << q;
    }
  }
}

TEST(AttentionValueTest, ExactEntropyMagnitudeAndRelativeUpdate) {
  // Two heads of uniform causal attention: row i has entropy ln(i + 1), normalized 1.
  const int64_t n = 4;
  at::Tensor a = at::zeros({2, n, n}, at::kDouble);
  for (int64_t i = 0; i < n; ++i) a.select(1, i).narrow(1, 0, i + 1).fill_(1.0 / (i + 1));
  at::Tensor x = at::eye(n, 3, at::kDouble) + 1.0;  // no zero rows
  at::Tensor y = x * 3.0;
  auto r = ComputeAttentionValue(a, x, y);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->entropy.size(), 3u);  // row 0 excluded
  for (int64_t i = 1; i < n; ++i) ExpectRel(r->entropy[i - 1], std::log(i + 1.0), "entropy");
  ExpectRel(r->normalized_entropy_mean, 1.0, "normalized");
  ExpectRel(r->head_entropy_mean[1], r->entropy_mean, "per head");
  // Y = 3X: ‖Y − X‖ = 2‖X‖, relative update 2 everywhere.
  ExpectRel(r->relative_update_mean, 2.0, "relative");
  ExpectRel(r->relative_update_mean_without_sinks, 2.0, "relative without sink");
  // Uniform attention is constant per row but not across pairs; the two heads are equal.
  EXPECT_EQ(r->num_degenerate_heads, 0);
  ExpectRel(r->gs_per_head_mean, r->gs_allowed_pairs.pearson, "per-head mean");
  EXPECT_EQ(r->pca_abs_correlations.size(), 2u);  // k = min(3, n − 1, d − 1) = 2
}

TEST(AttentionValueTest, NaNMarksTheLayerInvalidInsteadOfZero) {
  const json& c = GoldenInfogeoValue()["caseA"];
  at::Tensor x = TensorFromJson(c["X_pre"]);
  x[2][1] = std::numeric_limits<double>::quiet_NaN();
  auto r = ComputeAttentionValue(TensorFromJson(c["attention"]), x, TensorFromJson(c["Y_post"]));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->valid);
  EXPECT_EQ(r->hidden_health.num_nan, 1);
  EXPECT_TRUE(std::isnan(r->gs_allowed_pairs.pearson));
  EXPECT_TRUE(std::isnan(r->magnitude_mean));
  // The notebook zeroes NaN and carries on; PAPER mode does the same, but counts it.
  auto p =
      ComputePaperAttentionValue(TensorFromJson(c["attention"]), x, TensorFromJson(c["Y_post"]));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->hidden_health.num_nan, 1);
  EXPECT_TRUE(std::isfinite(p->paper_geometric_semantic_correlation));
  EXPECT_EQ(
      ComputeAttentionValue(TensorFromJson(c["attention"]), x.narrow(0, 0, 3), x).status().code(),
      StatusCode::kInvalidArgument);
}

TEST(PaperReferencePointTest, MatchesGoldenCases) {
  for (const char* name : {"caseA", "caseB"}) {
    const json& c = GoldenInfogeoValue()[name];
    const json& g = c["reference_point"];
    at::Tensor a = c.contains("attention") ? TensorFromJson(c["attention"])
                                           : CausalSoftmax(TensorFromJson(c["logits"]));
    auto r = ComputePaperReferencePoint(a, TensorFromJson(c["X_pre"]));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const std::string what = name;
    EXPECT_EQ(r->paper_reference_tokens, g["reference_tokens"].get<std::vector<int64_t>>()) << what;
    const auto with = g["means_incl_dummies"].get<std::vector<double>>();
    ExpectRel(r->paper_relative_magnitude_mean, with[0], what + " RM");
    ExpectRel(r->paper_directional_influence_mean, with[1], what + " DI");
    ExpectRel(r->paper_information_content_change_mean, with[2], what + " IC");
    const auto without = g["CORRECTED_means_excl_reference_tokens"].get<std::vector<double>>();
    ExpectRel(r->paper_relative_magnitude_mean_without_reference, without[0], what + " RM −R");
    ExpectRel(r->paper_directional_influence_mean_without_reference, without[1], what + " DI −R");
    ExpectRel(r->paper_information_content_change_mean_without_reference, without[2],
              what + " IC −R");
    if (g.contains("relative_magnitude")) {
      ExpectVector(r->paper_relative_magnitude, g["relative_magnitude"], what + " RM_i");
      ExpectVector(r->paper_directional_influence, g["directional_influence"], what + " DI_i");
      ExpectVector(r->paper_information_content_change, g["information_content_change"],
                   what + " IC_i");
      ExpectVector(r->paper_column_mean_attention, g["column_mean_attention"], what + " c");
    }
  }
}

TEST(ReferencePointTest, ExposureCorrectedReferenceAndPerHeadValues) {
  // Head 0 is a half sink (every row i ≥ 1 puts 0.5 on key 0 and 0.5 on itself), head 1 uniform
  // causal; per-head value vectors come from one shared KV head (GQA).
  const int64_t n = 6;
  at::Tensor a = at::zeros({2, n, n}, at::kDouble);
  for (int64_t i = 0; i < n; ++i) {
    a[0][i][0] = i == 0 ? 1.0 : 0.5;
    if (i > 0) a[0][i][i] = 0.5;
    a[1].select(0, i).narrow(0, 0, i + 1).fill_(1.0 / (i + 1));
  }
  at::Tensor values = at::randn({1, n, 4}, at::TensorOptions().dtype(at::kDouble)).abs() + 0.1;
  auto r = ComputeReferencePoint(a, values);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->causal);
  // α_0 = mean_{i ≥ 0} Ā_i0 is the largest; the cap max(1, ⌊0.3·6⌋) = 1 keeps only key 0.
  EXPECT_EQ(r->reference_tokens, (std::vector<int64_t>{0}));
  ASSERT_EQ(r->heads.size(), 3u);  // two heads (sharing one KV head) and their mean
  EXPECT_EQ(r->heads[2].head, kHeadMean);
  // Head 0 row i ≥ 1 puts 0.5 on the reference: SI = −ln(1 − 0.5) = ln 2 for every row.
  ExpectRel(r->heads[0].structural_importance_mean, std::log(2.0), "SI");
  EXPECT_EQ(r->num_tokens_measured, n - 1);
  for (const auto& h : r->heads) {
    EXPECT_GE(h.relative_magnitude_mean, 0.0);
    EXPECT_LE(h.relative_magnitude_mean, 1.0);
  }
  EXPECT_EQ(ComputeReferencePoint(a, at::zeros({3, n, 4}, at::kDouble)).status().code(),
            StatusCode::kInvalidArgument);  // 2 heads cannot share 3 KV heads
}

}  // namespace
}  // namespace sinkscope::analyzers::value
