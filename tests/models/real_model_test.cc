// Real checkpoints: all-MiniLM-L6-v2 (fetched by scripts/setup into $SINKSCOPE_MODELS_DIR) against
// Hugging Face on 24 sentences of data/stem_sentences.csv (tests/fixtures/minilm/, made by
// make_fixtures.py), and the offline HF cache with two revisions of a tiny model.
#include <cstdlib>
#include <fstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/model.h"
#include "tests/models/model_test_util.h"
#include "tests/support/test_support.h"

namespace sinkscope::models {
namespace {

using sinkscope::testing::ExpectClose;
using sinkscope::testing::HiddenTol;
using sinkscope::testing::kAttentionTol;

std::filesystem::path MiniLmDir() {
  const char* dir = std::getenv("SINKSCOPE_MODELS_DIR");
  if (dir != nullptr) return std::filesystem::path(dir) / "all-MiniLM-L6-v2";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home ? home : "/") / ".cache/sinkscope/models/all-MiniLM-L6-v2";
}

TEST(RealModelTest, MiniLmMatchesHuggingFaceOnStemSentences) {
  const auto dir = MiniLmDir();
  if (!std::filesystem::exists(dir / "model.safetensors")) {
    if (std::getenv("SINKSCOPE_REQUIRE_REAL_MODELS") != nullptr) {
      FAIL() << "all-MiniLM-L6-v2 not found in " << dir << " (run scripts/setup)";
    }
    GTEST_SKIP() << "all-MiniLM-L6-v2 not found in " << dir << "; run scripts/setup";
  }
  auto model = LoadModel(dir.string(), LoadOptions{});
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ((*model)->info().num_layers, 6);
  EXPECT_EQ((*model)->info().num_heads, 12);

  const auto fixture = sinkscope::testing::FixturesDir() / "minilm";
  auto ref_tensors = formats::ReadSafetensors(fixture / "reference.safetensors");
  ASSERT_TRUE(ref_tensors.ok()) << ref_tensors.status().ToString();
  sinkscope::testing::Reference ref{std::move(ref_tensors).value()};
  std::ifstream in(fixture / "sentences.json");
  const auto sentences = nlohmann::json::parse(in)["sentences"];
  ASSERT_GE(sentences.size(), 20u);

  std::vector<std::vector<int64_t>> ids;
  for (const auto& s : sentences) ids.push_back(s["input_ids"].get<std::vector<int64_t>>());
  // One padded batch of all sentences: also checks padding on a real model.
  ForwardOptions options;
  options.capture.Enable(CapturePoint::kAttention);
  options.capture.Enable(CapturePoint::kHiddenIn);
  const Batch batch = MakeBatch(ids, PaddingSide::kRight, 0);
  double worst_attention = 0.0;
  auto result = (*model)->Forward(batch, options, [&](const LayerCapture& c) {
    for (size_t s = 0; s < ids.size(); ++s) {
      const int64_t n = batch.lengths[s];
      const std::string p = fmt::format("s{}.", s);
      at::Tensor ours = c.Get(CapturePoint::kAttention)[s].narrow(1, 0, n).narrow(2, 0, n);
      at::Tensor theirs = ref.Get(fmt::format("{}layers.{}.attention", p, c.layer));
      ExpectClose(ours, theirs, kAttentionTol, p + "attention");
      worst_attention = std::max(worst_attention, (ours - theirs).abs().max().item<double>());
      if (c.layer == 3) {
        at::Tensor h = ref.Get(p + "hidden_states.3");
        ExpectClose(c.Get(CapturePoint::kHiddenIn)[s].narrow(0, 0, n), h, HiddenTol(h),
                    p + "hidden_states.3");
      }
      if (c.layer == 0) {
        at::Tensor h = ref.Get(p + "hidden_states.0");
        ExpectClose(c.Get(CapturePoint::kHiddenIn)[s].narrow(0, 0, n), h, HiddenTol(h),
                    p + "hidden_states.0");
      }
    }
    return OkStatus();
  });
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  for (size_t s = 0; s < ids.size(); ++s) {
    at::Tensor h = ref.Get(fmt::format("s{}.hidden_states.6", s));
    ExpectClose(result->final_hidden[s].narrow(0, 0, batch.lengths[s]), h, HiddenTol(h),
                fmt::format("s{}.hidden_states.6", s));
  }
  RecordProperty("max_attention_abs_error", std::to_string(worst_attention));
}

TEST(HfCacheModelTest, RevisionsLoadTheirOwnWeights) {
  const auto cache = sinkscope::testing::FixturesDir() / "hf_cache";
  auto expected = formats::ReadSafetensors(cache / "expected.safetensors");
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  sinkscope::testing::Reference ref{std::move(expected).value()};
  const std::vector<int64_t> ids = sinkscope::testing::ToIds(ref.Get("input_ids"));
  const std::pair<const char*, const char*> cases[] = {
      {"sinkscope-test/tiny-llama@step1000", "step1000"},
      {"sinkscope-test/tiny-llama", "main"},
      {"sinkscope-test/tiny-llama@main", "main"},
      {"sinkscope-test/tiny-llama@a86c37c7480fc6b9c67939ba985fc20bf3e84365", "step1000"},
  };
  for (const auto& [source, revision] : cases) {
    SCOPED_TRACE(source);
    auto model = LoadModel(source, LoadOptions{}, cache / "hub");
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    const std::string commit = std::string(revision) == "step1000"
                                   ? "a86c37c7480fc6b9c67939ba985fc20bf3e84365"
                                   : "b28b7af69320201d1cf206ebf28373980add1451";
    EXPECT_EQ((*model)->info().revision, commit);
    EXPECT_EQ(std::filesystem::path((*model)->info().directory).filename(), commit);
    auto out = (*model)->Forward(MakeBatch({ids}, PaddingSide::kRight, 0), {}, nullptr);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    at::Tensor want = ref.Get(fmt::format("{}.final_hidden", revision));
    ExpectClose(out->final_hidden[0], want, HiddenTol(want), revision);
  }
  // The two revisions really differ, so loading the wrong one would fail above.
  EXPECT_GT(
      (ref.Get("main.final_hidden") - ref.Get("step1000.final_hidden")).abs().max().item<double>(),
      1e-2);
  auto missing = LoadModel("sinkscope-test/tiny-llama@step9999", LoadOptions{}, cache / "hub");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("step1000"), std::string::npos)
      << missing.status().message();
}

}  // namespace
}  // namespace sinkscope::models
