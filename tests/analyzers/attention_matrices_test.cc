#include "analyzers/common/attention_matrices.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace sinkscope::analyzers {
namespace {

TEST(AttentionMatricesTest, SelectsHeadsAndMeanInOrder) {
  at::Tensor heads = at::arange(2 * 3 * 3, at::kFloat).reshape({2, 3, 3});
  auto batch = SelectMatrices(heads, HeadSelection::kPerHeadAndMean, at::kDouble);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ(batch->heads, (std::vector<int>{0, 1, kHeadMean}));
  ASSERT_EQ(batch->matrices.sizes(), (at::IntArrayRef{3, 3, 3}));
  EXPECT_EQ(batch->matrices.scalar_type(), at::kDouble);
  // Entry (0, 0): heads hold 0 and 9, the mean 4.5.
  EXPECT_DOUBLE_EQ(batch->matrices[2][0][0].item<double>(), 4.5);
  EXPECT_DOUBLE_EQ(batch->matrices[1][2][2].item<double>(), 17.0);

  auto mean_only = SelectMatrices(heads[0], HeadSelection::kHeadMean, at::kFloat);
  ASSERT_TRUE(mean_only.ok());
  EXPECT_EQ(mean_only->heads, (std::vector<int>{kHeadMean}));
  EXPECT_TRUE(at::equal(mean_only->matrices[0], heads[0]));
}

TEST(AttentionMatricesTest, RejectsBadShapesWithTheShape) {
  struct Case {
    at::Tensor input;
    const char* fragment;
  };
  const Case cases[] = {
      {at::zeros({3, 4}), "must be square, got shape [3, 4]"},
      {at::zeros({2, 2, 2, 2}), "must be [n, n] or [heads, n, n]"},
      {at::zeros({0, 0}), "is empty"},
      {at::zeros({0, 3, 3}), "is empty"},
      {at::zeros({3, 3}, at::kLong), "must be floating point"},
      {at::Tensor(), "is missing"},
  };
  for (const auto& c : cases) {
    Status s = ValidateAttention(c.input);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.fragment;
    EXPECT_NE(s.message().find(c.fragment), std::string::npos) << s.message();
  }
}

TEST(AttentionMatricesTest, CountsNonFiniteEntriesPerMatrix) {
  at::Tensor m = at::zeros({2, 3, 3}, at::kDouble);
  m[1][0][1] = std::numeric_limits<double>::quiet_NaN();
  m[1][2][2] = std::numeric_limits<double>::infinity();
  m[1][1][0] = -std::numeric_limits<double>::infinity();
  m[1][1][2] = -std::numeric_limits<double>::infinity();
  auto health = CheckFinite(m);
  ASSERT_EQ(health.size(), 2u);
  EXPECT_TRUE(health[0].valid());
  EXPECT_FALSE(health[1].valid());
  EXPECT_EQ(health[1].num_nan, 1);
  EXPECT_EQ(health[1].num_posinf, 1);
  EXPECT_EQ(health[1].num_neginf, 2);
  EXPECT_EQ(health[1].num_nonfinite(), 4);
}

TEST(AttentionMatricesTest, RemovesTheSinkAndRenormalizesRows) {
  // Causal 3×3: row 0 = [1], row 1 = [0.75, 0.25], row 2 = [0.5, 0.25, 0.25].
  at::Tensor a =
      at::tensor({1.0, 0.0, 0.0, 0.75, 0.25, 0.0, 0.5, 0.25, 0.25}, at::kDouble).reshape({3, 3});
  EXPECT_EQ(SinkIndex(a, SinkRule::kFirstToken), 0);
  EXPECT_EQ(SinkIndex(a, SinkRule::kMaxColumnMass), 0);
  auto r = RemoveToken(a, 0);
  ASSERT_TRUE(r.ok());
  // Row 1 keeps [0.25, 0] → [1, 0]; row 2 keeps [0.25, 0.25] → [0.5, 0.5].
  at::Tensor expected = at::tensor({1.0, 0.0, 0.5, 0.5}, at::kDouble).reshape({2, 2});
  EXPECT_TRUE(at::allclose(*r, expected));
  // A row with no mass left stays zero rather than becoming NaN.
  at::Tensor b = at::tensor({1.0, 0.0, 1.0, 0.0}, at::kDouble).reshape({2, 2});
  auto rb = RemoveToken(b, 0);
  ASSERT_TRUE(rb.ok());
  EXPECT_EQ(rb->item<double>(), 0.0);
  EXPECT_EQ(RemoveToken(a, 3).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RemoveToken(a.narrow(0, 0, 1).narrow(1, 0, 1), 0).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(AttentionMatricesTest, MaxColumnSinkPrefersTheLowestIndexOnTies) {
  at::Tensor u = at::full({4, 4}, 0.25, at::kDouble);
  EXPECT_EQ(SinkIndex(u, SinkRule::kMaxColumnMass), 0);
  u[0][2] = 0.5;
  EXPECT_EQ(SinkIndex(u, SinkRule::kMaxColumnMass), 2);
}

TEST(AttentionMatricesTest, ParsesNamesAndRejectsUnknownOnes) {
  EXPECT_EQ(*ParseMode("paper"), Mode::kPaper);
  EXPECT_EQ(*ParseHeadSelection("heads+mean"), HeadSelection::kPerHeadAndMean);
  EXPECT_EQ(*ParseSinkRule("max-column"), SinkRule::kMaxColumnMass);
  EXPECT_EQ(ParseMode("compat").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ModeName(Mode::kCorrected), "corrected");
}

}  // namespace
}  // namespace sinkscope::analyzers
