// Encoding from several threads at once gives the same ids as encoding alone (the BPE and
// Unigram word caches are shared between threads).
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/tokenizer/tokenizer.h"
#include "tests/tokenizer/tokenizer_test_util.h"

namespace sinkscope::tokenizer {
namespace {

std::vector<std::string> FixtureTexts(const std::string& name) {
  std::ifstream in(sinkscope::testing::TokenizerFixturesDir() / "expected" / (name + ".json"));
  const auto expected = nlohmann::json::parse(in);
  std::vector<std::string> texts;
  for (const auto& c : expected.at("cases")) {
    if (c.at("add_special_tokens").get<bool>()) texts.push_back(c.at("text").get<std::string>());
  }
  return texts;
}

void ExpectSameIdsFromThreads(const Tokenizer& tok, const std::vector<std::string>& texts) {
  std::vector<std::vector<int32_t>> want;
  for (const auto& t : texts) {
    auto enc = tok.Encode(t);
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    want.push_back(enc->ids);
  }
  constexpr int kThreads = 4;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        // Each thread walks the texts in a different order so that cache fills interleave.
        for (size_t k = 0; k < texts.size(); ++k) {
          const size_t i =
              (k * (2 * static_cast<size_t>(t) + 1) + static_cast<size_t>(round)) % texts.size();
          auto enc = tok.Encode(texts[i]);
          if (!enc.ok() || enc->ids != want[i]) ++mismatches[static_cast<size_t>(t)];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(mismatches[static_cast<size_t>(t)], 0) << "thread " << t;
}

TEST(TokenizerConcurrencyTest, TinyTokenizersGiveTheSameIdsFromFourThreads) {
  for (const char* name : {"bpe_byte_level_roberta", "unigram_xlmr_precompiled",
                           "wordpiece_bert_custom", "bpe_metaspace_byte_fallback"}) {
    // A fresh tokenizer so that the caches start empty and fill concurrently.
    auto tok = Tokenizer::FromFile(sinkscope::testing::TokenizerFixturesDir() / "tiny" /
                                   (std::string(name) + ".json"));
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    ExpectSameIdsFromThreads(*tok, FixtureTexts(name));
  }
}

TEST(TokenizerConcurrencyTest, Llama3GivesTheSameIdsFromFourThreads) {
  const auto path = sinkscope::testing::TokenizerJsonFor("llama3", true);
  if (!std::filesystem::exists(path)) {
    if (std::getenv("SINKSCOPE_REQUIRE_REAL_MODELS") != nullptr) FAIL() << path << " not found";
    GTEST_SKIP() << path << " not found; run scripts/setup";
  }
  auto tok = Tokenizer::FromFile(path);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  ExpectSameIdsFromThreads(*tok, FixtureTexts("llama3"));
}

}  // namespace
}  // namespace sinkscope::tokenizer
