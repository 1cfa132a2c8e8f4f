// Reference frames end to end on the tiny fixture models (issue 5 §5): attention from the runtime
// → sink metrics per sentence → ClassifyReferenceFrame. Random-weight models have no trained
// sinks, so the label itself is not asserted; what is: the pipeline runs for causal and
// bidirectional architectures, and the evidence is consistent with the model (causality, head
// counts, shares in [0, 1], first ⊂ ends, end symmetry only for bidirectional attention).
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "analyzers/frames/reference_frames.h"
#include "analyzers/sink/sink_metrics.h"
#include "models/model.h"
#include "tests/support/test_support.h"

namespace sinkscope::models {
namespace {

class FramesOnTinyModelsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FramesOnTinyModelsTest, EvidenceIsConsistentWithTheModel) {
  const auto dir = sinkscope::testing::FixturesDir() / "tiny" / GetParam();
  auto model = LoadModel(dir.string(), LoadOptions{});
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const ModelInfo& info = (*model)->info();
  std::vector<analyzers::sink::SinkResult> sentences;
  const std::vector<std::vector<int64_t>> ids = {
      {5, 17, 23, 42, 8, 9, 31, 2}, {11, 3, 7, 19, 29, 4}, {6, 14, 27, 33, 12, 21, 18, 25, 10}};
  for (const auto& sentence : ids) {
    ForwardOptions options;
    options.capture.Enable(CapturePoint::kAttention);
    options.stop_after_captures = true;
    std::vector<at::Tensor> layers;
    auto out = (*model)->Forward(MakeBatch({sentence}, PaddingSide::kRight, info.pad_token_id),
                                 options, [&](const LayerCapture& c) {
                                   layers.push_back(c.Get(CapturePoint::kAttention)[0]);
                                   return OkStatus();
                                 });
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    const auto n = static_cast<int64_t>(sentence.size());
    analyzers::sink::SinkOptions sink_options;
    // Tokens are ids here; mark the two ends special, as [CLS] … [SEP] or <s> … </s> would be.
    std::vector<std::string> tokens(static_cast<size_t>(n), "w");
    sink_options.position_classes = analyzers::ClassifyPositions(tokens, {0, n - 1});
    auto sink = analyzers::sink::ComputeSinkMetrics(at::stack(layers), sink_options);
    ASSERT_TRUE(sink.ok()) << sink.status().ToString();
    EXPECT_EQ(sink->causal, info.causal);
    sentences.push_back(*sink);
  }
  auto frame = analyzers::frames::ClassifyReferenceFrame(sentences);
  ASSERT_TRUE(frame.ok()) << frame.status().ToString();
  const auto& e = frame->evidence;
  EXPECT_EQ(e.causal, info.causal);
  EXPECT_EQ(e.num_sentences, 3);
  EXPECT_EQ(e.num_heads_counted, 3 * (info.num_layers - 1) * info.num_heads);
  for (double share : {e.first_share, e.ends_share}) {
    EXPECT_GE(share, 0.0);
    EXPECT_LE(share, 1.0);
  }
  EXPECT_GE(e.ends_share, e.first_share);
  EXPECT_FALSE(frame->reason.empty());
  EXPECT_EQ(e.first_share_by_layer.size(), static_cast<size_t>(info.num_layers));
  if (info.causal) {
    EXPECT_TRUE(std::isnan(e.end_symmetry));
  } else {
    EXPECT_GT(e.end_symmetry, 0.0);
  }
}

INSTANTIATE_TEST_SUITE_P(Archs, FramesOnTinyModelsTest,
                         ::testing::Values("bert", "gpt2", "llama", "qwen2", "xlm_roberta"));

}  // namespace
}  // namespace sinkscope::models
