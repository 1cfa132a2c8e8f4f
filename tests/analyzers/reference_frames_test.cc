// Reference-frame classification on constructed attention of each kind (spec
// sinks-frames-decomposition §2): one dominant BOS sink, moving anchors without BOS, sinks at both
// ends of bidirectional attention, and a pattern that fits no type.
#include "analyzers/frames/reference_frames.h"

#include <cmath>

#include <gtest/gtest.h>

namespace sinkscope::analyzers::frames {
namespace {

/// Causal attention [L, H, n, n]: row i puts `mass` on key sink(l, h) (when visible) and spreads
/// the rest uniformly over keys 0..i.
template <typename SinkFn>
at::Tensor CausalWithSinks(int64_t layers, int64_t heads, int64_t n, double mass, SinkFn sink) {
  at::Tensor a = at::zeros({layers, heads, n, n}, at::kDouble);
  for (int64_t l = 0; l < layers; ++l) {
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t k = sink(l, h);
      for (int64_t i = 0; i < n; ++i) {
        const double m = k <= i ? mass : 0.0;
        for (int64_t j = 0; j <= i; ++j) {
          a[l][h][i][j] = (1 - m) / static_cast<double>(i + 1) + (j == k ? m : 0.0);
        }
      }
    }
  }
  return a;
}

std::vector<sink::SinkResult> Sentences(const std::vector<at::Tensor>& attention,
                                        const sink::SinkOptions& options = {}) {
  std::vector<sink::SinkResult> out;
  for (const auto& a : attention) {
    auto r = sink::ComputeSinkMetrics(a, options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    out.push_back(*r);
  }
  return out;
}

TEST(ReferenceFramesTest, OneDominantFirstTokenSinkIsCentralized) {
  std::vector<at::Tensor> sentences;
  for (int64_t n : {10, 14}) {
    sentences.push_back(CausalWithSinks(3, 4, n, 0.7, [](int64_t, int64_t) { return 0; }));
  }
  auto r = ClassifyReferenceFrame(Sentences(sentences));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->type, FrameType::kCentralized) << r->reason;
  EXPECT_DOUBLE_EQ(r->evidence.first_share, 1.0);
  EXPECT_GT(r->evidence.top1_over_top3, 0.6);
  EXPECT_DOUBLE_EQ(r->evidence.distinct_sinks_per_sentence, 1.0);
  EXPECT_TRUE(std::isnan(r->evidence.end_symmetry));
  EXPECT_EQ(r->evidence.num_heads_counted, 2 * 2 * 4);  // layers 1 and 2 of two sentences
}

TEST(ReferenceFramesTest, MovingAnchorsAreDistributed) {
  // No BOS: each head anchors on a different content position, changing with the sentence.
  std::vector<at::Tensor> sentences;
  for (int64_t s = 0; s < 3; ++s) {
    sentences.push_back(CausalWithSinks(
        3, 4, 12, 0.5, [s](int64_t l, int64_t h) { return 2 + (h * 2 + l + s) % 8; }));
  }
  auto r = ClassifyReferenceFrame(Sentences(sentences));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, FrameType::kDistributed) << r->reason;
  EXPECT_DOUBLE_EQ(r->evidence.first_share, 0.0);
  EXPECT_GE(r->evidence.distinct_sinks_per_sentence, 3.0);
}

TEST(ReferenceFramesTest, SinksAtBothEndsOfBidirectionalAttentionAreBidirectional) {
  const int64_t n = 8;
  at::Tensor a = at::full({3, 4, n, n}, 0.3 / (n - 2), at::kDouble);
  for (int64_t l = 0; l < 3; ++l) {
    for (int64_t h = 0; h < 4; ++h) {
      // Heads alternate which end is stronger: 0.4 / 0.3.
      a[l][h].select(1, 0).fill_(h % 2 == 0 ? 0.4 : 0.3);
      a[l][h].select(1, n - 1).fill_(h % 2 == 0 ? 0.3 : 0.4);
    }
  }
  std::vector<std::string> tokens = {"<s>", "The", "cell", "divides", "in", "two", ".", "</s>"};
  sink::SinkOptions options;
  options.position_classes = ClassifyPositions(tokens, {0, n - 1});
  auto r = ClassifyReferenceFrame(Sentences({a, a}, options));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->evidence.causal);
  EXPECT_EQ(r->type, FrameType::kBidirectional) << r->reason;
  EXPECT_DOUBLE_EQ(r->evidence.ends_share, 1.0);
  EXPECT_DOUBLE_EQ(r->evidence.first_share, 0.5);
  EXPECT_NEAR(r->evidence.end_symmetry, 1.0, 1e-12);
}

TEST(ReferenceFramesTest, PlainCausalAveragingFitsNoTypeAndSaysWhy) {
  // Uniform causal attention: key 0 has the largest α (it is seen by every query), but it holds
  // only 0.43 of the top three at n = 10 — not a dominant sink, and not several anchors either.
  at::Tensor a = CausalWithSinks(2, 2, 10, 0.0, [](int64_t, int64_t) { return 0; });
  auto r = ClassifyReferenceFrame(Sentences({a}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, FrameType::kUnclassified);
  EXPECT_NEAR(r->evidence.top1_over_top3, 0.4270, 1e-3);
  EXPECT_NE(r->reason.find("no rule fits"), std::string::npos);
  EXPECT_EQ(FrameTypeName(r->type), "unclassified");
}

TEST(ReferenceFramesTest, RejectsEmptyOrMixedInput) {
  EXPECT_EQ(ClassifyReferenceFrame({}).status().code(), StatusCode::kInvalidArgument);
  auto one = Sentences({CausalWithSinks(2, 2, 6, 0.5, [](int64_t, int64_t) { return 0; }),
                        CausalWithSinks(3, 2, 6, 0.5, [](int64_t, int64_t) { return 0; })});
  auto r = ClassifyReferenceFrame(one);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("one model per call"), std::string::npos);
  auto ok = Sentences({CausalWithSinks(2, 2, 6, 0.5, [](int64_t, int64_t) { return 0; })});
  EXPECT_EQ(ClassifyReferenceFrame(ok, {}, {0.1}).status().code(), StatusCode::kInvalidArgument);
  auto profiled = ClassifyReferenceFrame(ok, {}, {0.2, -0.3});
  ASSERT_TRUE(profiled.ok());
  EXPECT_DOUBLE_EQ(profiled->evidence.early_alignment, 0.2);
  EXPECT_DOUBLE_EQ(profiled->evidence.deep_alignment, -0.3);
}

}  // namespace
}  // namespace sinkscope::analyzers::frames
