// Activation decomposition: closed forms for spread, the residual + attention + MLP identity, and
// the MLP-output subspace of rank-1 and rank-2 constructions.
#include "analyzers/decomposition/decomposition.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace sinkscope::analyzers::decomposition {
namespace {

at::Tensor Seeded(std::vector<int64_t> shape, uint64_t seed) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  return at::randn(shape, g, at::TensorOptions().dtype(at::kDouble));
}

TEST(VectorSpreadTest, SinkLikeTokenHasLargeNormAndSmallSpread) {
  // x_s = x̄ ± e with ‖e‖ = 1: spread = ‖e‖/‖x̄‖ exactly.
  at::Tensor mean = at::zeros({5}, at::kDouble);
  mean[2] = -300.0;
  mean[4] = 40.0;
  at::Tensor e = at::zeros({5}, at::kDouble);
  e[0] = 0.6;
  e[1] = 0.8;
  at::Tensor x = at::stack({mean + e, mean - e});
  auto s = ComputeVectorSpread(x);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const double norm = std::sqrt(300.0 * 300.0 + 40.0 * 40.0);
  EXPECT_NEAR(s->norm_of_mean, norm, 1e-12);
  EXPECT_NEAR(s->spread, 1.0 / norm, 1e-15);
  EXPECT_EQ(s->top_dims, (std::vector<int64_t>{2, 4, 0}));  // zeros tie: the lowest index
  EXPECT_DOUBLE_EQ(s->top_values[0], -300.0);
  EXPECT_DOUBLE_EQ(s->max_abs_of_mean, 300.0);
  // Identical vectors: no spread at all.
  EXPECT_EQ(ComputeVectorSpread(at::stack({mean, mean, mean}))->spread, 0.0);
  // A zero mean leaves the spread undefined (NaN), not 0.
  EXPECT_TRUE(std::isnan(ComputeVectorSpread(at::stack({e, -e}))->spread));
}

TEST(DecomposeOutputTest, PartsSumToTheOutputAndCosinesMatch) {
  at::Tensor r = Seeded({4, 6}, 1), a = Seeded({4, 6}, 2), m = Seeded({4, 6}, 3);
  at::Tensor y = r + a + m;
  auto d = DecomposeOutput(r, a, m, y, {0, 3});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->tokens.size(), 2u);
  const TokenDecomposition& t = d->tokens[1];
  EXPECT_EQ(t.token, 3);
  EXPECT_LT(t.sum_relative_error, 1e-15);
  EXPECT_NEAR(t.output_norm, y[3].norm().item<double>(), 1e-12);
  const double cos = (a[3] * y[3]).sum().item<double>() /
                     (a[3].norm().item<double>() * y[3].norm().item<double>());
  EXPECT_NEAR(t.attention_cosine, cos, 1e-12);
  // An output that is not the sum shows up as a relative error: Y' = 2Y → ‖Y‖/‖2Y‖ = 1/2.
  auto off = DecomposeOutput(r, a, m, 2 * y);
  EXPECT_NEAR(off->tokens[0].sum_relative_error, 0.5, 1e-12);
}

TEST(DecomposeOutputTest, RejectsMismatchedPartsAndCountsNaN) {
  at::Tensor r = Seeded({3, 4}, 4);
  EXPECT_EQ(DecomposeOutput(r, r, r, Seeded({3, 5}, 5)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(DecomposeOutput(r, r, r, r, {3}).status().code(), StatusCode::kInvalidArgument);
  at::Tensor bad = r.clone();
  bad[1][2] = std::numeric_limits<double>::quiet_NaN();
  auto d = DecomposeOutput(r, r, bad, r);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->valid);
  EXPECT_EQ(d->health.num_nan, 1);
  EXPECT_TRUE(std::isnan(d->tokens[0].mlp_norm));
}

TEST(MlpSubspaceTest, RankOneOutputsLiveInOneDirection) {
  // Outputs c_s · v: one singular value, direction ±v/‖v‖.
  at::Tensor v = at::tensor({3.0, 0.0, 4.0, 0.0}, at::kDouble);
  at::Tensor coeffs = at::tensor({1.0, -2.0, 0.5, 3.0}, at::kDouble);
  at::Tensor outputs = coeffs.unsqueeze(1) * v.unsqueeze(0);
  at::Tensor others = at::stack({v, at::tensor({0.0, 1.0, 0.0, 0.0}, at::kDouble),
                                 at::tensor({4.0, 0.0, -3.0, 0.0}, at::kDouble) + v});
  SubspaceOptions one;
  one.rank = 1;
  auto s = ComputeMlpSubspace(outputs, others, one);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_NEAR(s->explained_variance[0], 1.0, 1e-12);
  EXPECT_NEAR(s->top_rank_share, 1.0, 1e-12);
  EXPECT_NEAR(std::fabs(s->directions[0][2].item<double>()), 0.8, 1e-12);
  // v itself is inside, e_1 is orthogonal, and (4, 0, −3, 0) + v = (7, 0, 1, 0) has share
  // |(7·3 + 1·4)/5| / ‖(7, 0, 1, 0)‖ = 5/√50.
  EXPECT_NEAR(s->other_projection_shares[0], 1.0, 1e-12);
  EXPECT_NEAR(s->other_projection_shares[1], 0.0, 1e-12);
  EXPECT_NEAR(s->other_projection_shares[2], 5.0 / std::sqrt(50.0), 1e-12);
  // The default rank 2 keeps at most min(S, d) directions.
  auto two = ComputeMlpSubspace(outputs.narrow(0, 0, 1), at::Tensor(), {});
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->rank, 1);
  EXPECT_EQ(ComputeMlpSubspace(outputs, at::Tensor(), {0, false}).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sinkscope::analyzers::decomposition
