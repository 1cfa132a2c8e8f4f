// MLP input attribution (gradient × input) on hand-built tensors.
#include "analyzers/decomposition/mlp_attribution.h"

#include <cmath>
#include <limits>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace sinkscope::analyzers::decomposition {
namespace {

TEST(MlpAttributionTest, RanksDimensionsByAbsoluteGradientTimesInput) {
  // Token 0: a = (1·2, −3·1, 0.5·−4, 2·0) = (2, −3, −2, 0); token 1: a = (0, 0, 0, 0).
  at::Tensor x = at::tensor({1.0, -3.0, 0.5, 2.0, 1.0, 1.0, 1.0, 1.0}).view({2, 4});
  at::Tensor g = at::tensor({2.0, 1.0, -4.0, 0.0, 0.0, 0.0, 0.0, 0.0}).view({2, 4});
  auto r = ComputeMlpInputAttribution(x, g, {.top_k = 3});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->num_tokens, 2);
  EXPECT_EQ(r->dim, 4);
  ASSERT_EQ(r->tokens.size(), 2u);
  const auto& t0 = r->tokens[0];
  EXPECT_EQ(t0.top_dims, (std::vector<int64_t>{1, 0, 2}));  // |−3| > |2| = |−2|: lower index first
  EXPECT_EQ(t0.top_values, (std::vector<double>{-3, 2, -2}));
  EXPECT_DOUBLE_EQ(t0.total, -3);
  EXPECT_DOUBLE_EQ(t0.total_abs, 7);
  EXPECT_DOUBLE_EQ(t0.top_share, 1.0);
  EXPECT_TRUE(std::isnan(r->tokens[1].top_share));  // nothing to share
}

TEST(MlpAttributionTest, SelectsTokensAndClampsTopK) {
  at::Tensor x = at::ones({3, 2});
  at::Tensor g = at::tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}).view({3, 2});
  auto r = ComputeMlpInputAttribution(x, g, {.top_k = 10, .tokens = {2}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->top_k, 2);
  ASSERT_EQ(r->tokens.size(), 1u);
  EXPECT_EQ(r->tokens[0].token, 2);
  EXPECT_EQ(r->tokens[0].top_dims, (std::vector<int64_t>{1, 0}));
  EXPECT_DOUBLE_EQ(r->tokens[0].top_share, 1.0);
}

TEST(MlpAttributionTest, CountsNonFiniteAndRejectsBadInput) {
  at::Tensor x = at::ones({2, 2});
  at::Tensor g = x.clone();
  g[0][1] = std::numeric_limits<double>::quiet_NaN();
  auto r = ComputeMlpInputAttribution(x, g, {});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->valid);
  EXPECT_EQ(r->health.num_nan, 1);
  EXPECT_TRUE(r->tokens.empty());
  EXPECT_FALSE(ComputeMlpInputAttribution(x, at::ones({2, 3}), {}).ok());
  EXPECT_FALSE(ComputeMlpInputAttribution(at::ones({4}), at::ones({4}), {}).ok());
  EXPECT_FALSE(ComputeMlpInputAttribution(x, x, {.top_k = 0}).ok());
  EXPECT_FALSE(ComputeMlpInputAttribution(x, x, {.tokens = {2}}).ok());
}

}  // namespace
}  // namespace sinkscope::analyzers::decomposition
