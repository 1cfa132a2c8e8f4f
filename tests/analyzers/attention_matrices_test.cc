#include "analyzers/common/attention_matrices.h"

#include <cmath>
#include <limits>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "analyzers/common/positions.h"

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
  // float32 and strided batches take the ATen path: the same counts.
  for (const at::Tensor& other : {m.to(at::kFloat), m.transpose(1, 2)}) {
    auto h = CheckFinite(other);
    ASSERT_EQ(h.size(), 2u);
    EXPECT_TRUE(h[0].valid());
    EXPECT_EQ(h[1].num_nan, 1);
    EXPECT_EQ(h[1].num_posinf, 1);
    EXPECT_EQ(h[1].num_neginf, 2);
  }
}

TEST(AttentionMatricesTest, CountNonFiniteFindsEveryPositionOfEveryLength) {
  // The quick all-finite pass works in blocks of 8 plus a tail: a non-finite value anywhere, in
  // a block or in the tail, must fall through to the counts.
  const double inf = std::numeric_limits<double>::infinity();
  for (size_t m = 1; m <= 19; ++m) {
    std::vector<double> v(m, 1e300);  // large finite values: their products with 0 stay 0
    EXPECT_TRUE(CountNonFinite(v).valid()) << m;
    for (size_t at = 0; at < m; ++at) {
      for (double bad : {std::nan(""), inf, -inf}) {
        std::vector<double> w = v;
        w[at] = bad;
        const InputHealth h = CountNonFinite(w);
        EXPECT_EQ(h.num_nan + h.num_posinf + h.num_neginf, 1) << m << " " << at;
        EXPECT_EQ(h.num_posinf, bad == inf ? 1 : 0);
        EXPECT_EQ(h.num_neginf, bad == -inf ? 1 : 0);
      }
    }
  }
}

TEST(AttentionMatricesTest, ToCpuDoublesConvertsFloat32Exactly) {
  const at::Tensor f = at::randn({3, 7}, at::kFloat);  // 21 values: blocks of 4 and a tail
  const std::vector<double> d = ToCpuDoubles(f);
  ASSERT_EQ(d.size(), 21u);
  const float* p = f.data_ptr<float>();
  for (size_t k = 0; k < d.size(); ++k) EXPECT_EQ(d[k], static_cast<double>(p[k])) << k;
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
