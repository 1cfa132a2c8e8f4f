// Golden parity with the Python `tokenizers` library (tests/fixtures/make_tokenizer_fixtures.py,
// tokenizers 0.22.1): ids, offsets (compared in HF's char units), special_tokens_mask and the
// decoded text, for tiny trained tokenizers and the real Llama 3, Llama 2, Qwen3, Gemma 3 and
// all-MiniLM-L6-v2 files over the project's sentences and a stress list.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/tokenizer/tokenizer.h"
#include "tests/tokenizer/tokenizer_test_util.h"

namespace sinkscope::tokenizer {
namespace {

using sinkscope::testing::TokenizerFixturesDir;
using sinkscope::testing::TokenizerJsonFor;

struct ParityCase {
  std::string name;
  bool real;
};

std::string CaseName(const ::testing::TestParamInfo<ParityCase>& info) {
  return info.param.name;
}

class TokenizerParityTest : public ::testing::TestWithParam<ParityCase> {};

std::string Escape(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
}

TEST_P(TokenizerParityTest, MatchesHuggingFace) {
  const ParityCase& param = GetParam();
  const auto tokenizer_path = TokenizerJsonFor(param.name, param.real);
  if (!std::filesystem::exists(tokenizer_path)) {
    if (param.real && std::getenv("SINKSCOPE_REQUIRE_REAL_MODELS") != nullptr) {
      FAIL() << tokenizer_path << " not found (run scripts/setup)";
    }
    GTEST_SKIP() << tokenizer_path << " not found; run scripts/setup";
  }
  auto tok = Tokenizer::FromFile(tokenizer_path);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();

  std::ifstream in(TokenizerFixturesDir() / "expected" / (param.name + ".json"));
  ASSERT_TRUE(in.good()) << "missing expected/" << param.name << ".json";
  const auto expected = nlohmann::json::parse(in);
  const auto& cases = expected.at("cases");
  ASSERT_GT(cases.size(), 100u);

  int id_mismatches = 0, offset_mismatches = 0, mask_mismatches = 0, decode_mismatches = 0;
  for (const auto& c : cases) {
    const std::string text = c.at("text").get<std::string>();
    const bool add = c.at("add_special_tokens").get<bool>();
    const auto want_ids = c.at("ids").get<std::vector<int32_t>>();
    auto enc = tok->Encode(text, add);
    ASSERT_TRUE(enc.ok()) << Escape(text) << ": " << enc.status().ToString();
    if (enc->ids != want_ids) {
      if (++id_mismatches <= 5) {
        ADD_FAILURE() << "ids differ for " << Escape(text) << " (special=" << add << ")\n  got  "
                      << nlohmann::json(enc->ids).dump() << "\n  want "
                      << nlohmann::json(want_ids).dump() << "\n  tokens "
                      << nlohmann::json(enc->tokens)
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
      continue;
    }
    std::vector<std::vector<size_t>> got_offsets;
    for (const auto& o : enc->offsets) {
      const auto [b, e] = sinkscope::testing::ToCharOffsets(text, o);
      got_offsets.push_back({b, e});
    }
    const auto want_offsets = c.at("offsets").get<std::vector<std::vector<size_t>>>();
    if (got_offsets != want_offsets && ++offset_mismatches <= 5) {
      ADD_FAILURE() << "offsets differ for " << Escape(text) << " (special=" << add << ")\n  got  "
                    << nlohmann::json(got_offsets).dump() << "\n  want "
                    << nlohmann::json(want_offsets).dump();
    }
    const auto want_mask = c.at("special_tokens_mask").get<std::vector<uint8_t>>();
    if (enc->special_tokens_mask != want_mask && ++mask_mismatches <= 3) {
      ADD_FAILURE() << "special_tokens_mask differs for " << Escape(text);
    }
    if (c.contains("decoded")) {
      auto decoded = tok->Decode(enc->ids, false);
      ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
      if (*decoded != c.at("decoded").get<std::string>() && ++decode_mismatches <= 3) {
        ADD_FAILURE() << "decode differs for " << Escape(text) << "\n  got  " << Escape(*decoded)
                      << "\n  want " << Escape(c.at("decoded").get<std::string>());
      }
    }
  }
  // Decoding arbitrary ids: invalid byte sequences, specials anywhere.
  int decode_random_mismatches = 0;
  if (expected.contains("decode_cases")) {
    for (const auto& c : expected.at("decode_cases")) {
      const auto ids = c.at("ids").get<std::vector<int32_t>>();
      for (const bool skip : {false, true}) {
        auto decoded = tok->Decode(ids, skip);
        ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
        const auto want = c.at(skip ? "decoded_skip_special" : "decoded").get<std::string>();
        if (*decoded != want && ++decode_random_mismatches <= 3) {
          ADD_FAILURE() << "decode(" << nlohmann::json(ids).dump() << ", skip=" << skip
                        << ")\n  got  " << Escape(*decoded) << "\n  want " << Escape(want);
        }
      }
    }
  }
  EXPECT_EQ(decode_random_mismatches, 0);
  EXPECT_EQ(id_mismatches, 0) << "of " << cases.size() << " cases";
  EXPECT_EQ(offset_mismatches, 0);
  EXPECT_EQ(mask_mismatches, 0);
  EXPECT_EQ(decode_mismatches, 0);
}

// A model directory (tokenizer.json + tokenizer_config.json, as the npm packages and the MiniLM
// model ship them) gives the same ids: transformers' add_bos_token/add_eos_token handling
// reproduces the file's template for these models.
class RealTokenizerDirectoryTest : public TokenizerParityTest {};

TEST_P(RealTokenizerDirectoryTest, ModelDirectoryGivesTheSameIds) {
  const ParityCase& param = GetParam();
  const auto dir = TokenizerJsonFor(param.name, true).parent_path();
  if (!std::filesystem::exists(dir / "tokenizer_config.json")) {
    if (std::getenv("SINKSCOPE_REQUIRE_REAL_MODELS") != nullptr) {
      FAIL() << dir << "/tokenizer_config.json not found (run scripts/setup)";
    }
    GTEST_SKIP() << dir << " not found; run scripts/setup";
  }
  auto tok = Tokenizer::FromDirectory(dir);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  std::ifstream in(TokenizerFixturesDir() / "expected" / (param.name + ".json"));
  const auto expected = nlohmann::json::parse(in);
  int mismatches = 0, checked = 0;
  for (const auto& c : expected.at("cases")) {
    if (!c.at("add_special_tokens").get<bool>()) continue;
    auto enc = tok->Encode(c.at("text").get<std::string>(), true);
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    ++checked;
    mismatches += enc->ids != c.at("ids").get<std::vector<int32_t>>();
  }
  EXPECT_GT(checked, 300);
  EXPECT_EQ(mismatches, 0) << "tokenizer_class "
                           << tok->config().tokenizer_class.value_or("(none)");
}

INSTANTIATE_TEST_SUITE_P(
    Tiny, TokenizerParityTest,
    ::testing::Values(
        ParityCase{"bpe_byte_level_roberta", false},
        ParityCase{"bpe_byte_level_split_ignore_merges", false},
        ParityCase{"bpe_suffix_prefix", false}, ParityCase{"bpe_metaspace_byte_fallback", false},
        ParityCase{"unigram_xlmr_precompiled", false}, ParityCase{"unigram_byte_fallback", false},
        ParityCase{"wordpiece_bert_custom", false}, ParityCase{"wordlevel_bert_pre", false},
        ParityCase{"wordlevel_split_removed", false}, ParityCase{"wordlevel_split_isolated", false},
        ParityCase{"wordlevel_split_merged_with_previous", false},
        ParityCase{"wordlevel_split_merged_with_next", false},
        ParityCase{"wordlevel_split_contiguous", false},
        ParityCase{"wordlevel_split_invert", false}, ParityCase{"bpe_byte_level_nfd", false},
        ParityCase{"bpe_byte_level_nfkc", false}, ParityCase{"bpe_byte_level_nfkd", false},
        ParityCase{"wordlevel_nmt_char_delimiter_ctc", false},
        ParityCase{"bpe_byte_level_normalizer_fixed_length", false}),
    CaseName);

INSTANTIATE_TEST_SUITE_P(Real, RealTokenizerDirectoryTest,
                         ::testing::Values(ParityCase{"llama3", true}, ParityCase{"llama2", true},
                                           ParityCase{"qwen3", true}, ParityCase{"gemma3", true},
                                           ParityCase{"minilm", true}),
                         CaseName);

INSTANTIATE_TEST_SUITE_P(Real, TokenizerParityTest,
                         ::testing::Values(ParityCase{"llama3", true}, ParityCase{"llama2", true},
                                           ParityCase{"qwen3", true}, ParityCase{"gemma3", true},
                                           ParityCase{"minilm", true}),
                         CaseName);

}  // namespace
}  // namespace sinkscope::tokenizer
