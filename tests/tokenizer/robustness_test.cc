// Bad input never crashes: corruption tables for tokenizer.json (each row: status code and a
// message fragment naming the component), invalid UTF-8 text, in-test fuzz loops over damaged
// tokenizer.json files and random text (the bodies of tests/fuzz/tokenizer_fuzz.cc), plus
// empty input, tokenizer_config.json handling and special-token positions.
#include <functional>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/tokenizer/tokenizer.h"
#include "tests/fuzz/tokenizer_fuzz_body.h"
#include "tests/tokenizer/tokenizer_test_util.h"

namespace sinkscope::tokenizer {
namespace {

using nlohmann::json;
using sinkscope::testing::TokenizerFixturesDir;

// A small valid byte-level BPE tokenizer.json every corruption row starts from.
json BaseTokenizer() {
  return json::parse(R"({
    "version": "1.0", "truncation": null, "padding": null,
    "added_tokens": [{"id": 0, "content": "<s>", "single_word": false, "lstrip": false,
                      "rstrip": false, "normalized": false, "special": true}],
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Lowercase"}]},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Isolated", "invert": false},
        {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
    "post_processor": {"type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]}}},
    "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
    "model": {"type": "BPE", "dropout": null, "unk_token": null, "fuse_unk": false,
              "byte_fallback": false, "vocab": {"<s>": 0, "a": 1, "b": 2, "ab": 3, "Ġ": 4},
              "merges": ["a b"]}})");
}

struct CorruptionRow {
  std::string name;
  std::function<void(json&)> damage;
  StatusCode code;
  std::string fragment;
};

TEST(TokenizerLoadTest, BaseTokenizerLoadsAndEncodes) {
  auto tok = Tokenizer::FromJson(BaseTokenizer().dump());
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  auto enc = tok->Encode("AB a");
  ASSERT_TRUE(enc.ok()) << enc.status().ToString();
  EXPECT_EQ(enc->ids, (std::vector<int32_t>{0, 3, 4, 1}));
  EXPECT_EQ(enc->offsets[1], (std::pair<size_t, size_t>{0, 2}));
  EXPECT_EQ(enc->special_positions, (std::vector<size_t>{0}));
}

TEST(TokenizerLoadTest, CorruptionTable) {
  const std::vector<CorruptionRow> rows = {
      {"model missing", [](json& j) { j.erase("model"); }, StatusCode::kInvalidArgument,
       "model: missing field 'model'"},
      {"model type unknown", [](json& j) { j["model"]["type"] = "Magic"; },
       StatusCode::kUnimplemented, "model: unknown type 'Magic'"},
      {"vocab missing", [](json& j) { j["model"].erase("vocab"); }, StatusCode::kInvalidArgument,
       "model 'BPE': missing field 'vocab'"},
      {"vocab id not a number", [](json& j) { j["model"]["vocab"]["a"] = "one"; },
       StatusCode::kInvalidArgument, "model 'BPE': vocab['a'] must be an integer id"},
      {"sparse vocab ids", [](json& j) { j["model"]["vocab"]["b"] = 1 << 29; },
       StatusCode::kInvalidArgument, "model 'BPE': vocab ids are sparse: largest id 536870912"},
      {"merge of unknown token", [](json& j) { j["model"]["merges"].push_back("a zz"); },
       StatusCode::kInvalidArgument, "model 'BPE': merges[1]: token 'zz' is not in the vocabulary"},
      {"merge result unknown", [](json& j) { j["model"]["merges"].push_back("b a"); },
       StatusCode::kInvalidArgument, "merged token 'ba' is not in the vocabulary"},
      {"merge with three parts", [](json& j) { j["model"]["merges"][0] = "a b c"; },
       StatusCode::kInvalidArgument, "merges[0] 'a b c' is not two tokens"},
      {"merges not an array", [](json& j) { j["model"]["merges"] = 7; },
       StatusCode::kInvalidArgument, "field 'merges' must be an array"},
      {"dropout", [](json& j) { j["model"]["dropout"] = 0.5; }, StatusCode::kUnimplemented,
       "dropout"},
      {"normalizer type unknown",
       [](json& j) { j["normalizer"]["normalizers"][1]["type"] = "Upper"; },
       StatusCode::kUnimplemented, "normalizers[1]: normalizer: unknown type 'Upper'"},
      {"normalizer without type", [](json& j) { j["normalizer"].erase("type"); },
       StatusCode::kInvalidArgument, "normalizer: missing field 'type'"},
      {"bad regex",
       [](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed"; },
       StatusCode::kInvalidArgument, "pre_tokenizer 'Split': bad regex '(unclosed'"},
      {"pattern neither string nor regex",
       [](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"] = json::object(); },
       StatusCode::kInvalidArgument, "pattern must have a 'String' or a 'Regex' member"},
      {"split behavior unknown",
       [](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Sideways"; },
       StatusCode::kInvalidArgument, "unknown split behavior 'Sideways'"},
      {"pre_tokenizer type unknown",
       [](json& j) { j["pre_tokenizer"]["pretokenizers"][1]["type"] = "Chunks"; },
       StatusCode::kUnimplemented, "pretokenizers[1]: pre_tokenizer: unknown type 'Chunks'"},
      {"metaspace replacement of two characters",
       [](json& j) {
         j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "ab"}};
       },
       StatusCode::kInvalidArgument, "pre_tokenizer 'Metaspace': 'replacement' must be one"},
      {"template with undefined special token",
       [](json& j) { j["post_processor"]["single"][0]["SpecialToken"]["id"] = "[X]"; },
       StatusCode::kInvalidArgument,
       "post_processor 'TemplateProcessing': single[0]: special token '[X]'"},
      {"bert processing without sep",
       [](json& j) {
         j["post_processor"] = {{"type", "BertProcessing"}, {"cls", {"<s>", 0}}};
       },
       StatusCode::kInvalidArgument, "post_processor 'BertProcessing': missing field 'sep'"},
      {"decoder type unknown", [](json& j) { j["decoder"]["type"] = "Reverse"; },
       StatusCode::kUnimplemented, "decoder: unknown type 'Reverse'"},
      {"added token without content", [](json& j) { j["added_tokens"][0].erase("content"); },
       StatusCode::kInvalidArgument, "added_tokens[0]: missing field 'content'"},
      {"added token flag not a bool", [](json& j) { j["added_tokens"][0]["lstrip"] = "yes"; },
       StatusCode::kInvalidArgument, "added_tokens[0]: field 'lstrip' must be a boolean"},
      {"precompiled bad base64",
       [](json& j) {
         j["normalizer"] = {{"type", "Precompiled"}, {"precompiled_charsmap", "@@@@"}};
       },
       StatusCode::kInvalidArgument, "normalizer 'Precompiled': precompiled_charsmap: bad base64"},
      {"precompiled trie past the blob",
       [](json& j) {
         j["normalizer"] = {{"type", "Precompiled"}, {"precompiled_charsmap", "/////w=="}};
       },
       StatusCode::kInvalidArgument, "exceeds the blob"},
      {"unigram unk_id out of range",
       [](json& j) {
         j["model"] = {{"type", "Unigram"},
                       {"unk_id", 9},
                       {"vocab", json::array({json::array({"a", -1.0})})}};
       },
       StatusCode::kInvalidArgument, "model 'Unigram': unk_id 9 is not in the vocabulary"},
      {"unigram vocab entry malformed",
       [](json& j) {
         j["model"] = {{"type", "Unigram"}, {"vocab", {{"a"}}}};
       },
       StatusCode::kInvalidArgument, "model 'Unigram': vocab[0] must be [piece, score]"},
      {"wordpiece vocab not an object",
       [](json& j) {
         j["model"] = {{"type", "WordPiece"}, {"vocab", json::array()}};
       },
       StatusCode::kInvalidArgument, "model 'WordPiece': field 'vocab' must be an object"},
  };
  for (const auto& row : rows) {
    json j = BaseTokenizer();
    row.damage(j);
    auto tok = Tokenizer::FromJson(j.dump());
    ASSERT_FALSE(tok.ok()) << row.name;
    EXPECT_EQ(tok.status().code(), row.code) << row.name << ": " << tok.status().ToString();
    EXPECT_NE(tok.status().message().find(row.fragment), std::string::npos)
        << row.name << ": '" << tok.status().message() << "' lacks '" << row.fragment << "'";
  }
}

TEST(TokenizerLoadTest, RejectsNonJsonAndMissingFiles) {
  for (const std::string text : {"", "not json", "[1, 2]", "{\"model\": ", "\xff\xfe"}) {
    auto tok = Tokenizer::FromJson(text);
    ASSERT_FALSE(tok.ok());
    EXPECT_EQ(tok.status().code(), StatusCode::kInvalidArgument) << tok.status().ToString();
  }
  auto missing = Tokenizer::FromFile("/nonexistent/tokenizer.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("/nonexistent/tokenizer.json"), std::string::npos);
}

TEST(TokenizerEncodeTest, InvalidUtf8NamesTheByteOffset) {
  auto tok = Tokenizer::FromJson(BaseTokenizer().dump());
  ASSERT_TRUE(tok.ok());
  const std::vector<std::pair<std::string, std::string>> rows = {
      {std::string("abc\xff"), "byte offset 3"},
      {std::string("ab\xc3"), "byte offset 2"},        // truncated sequence
      {std::string("\xe2\x28\xa1"), "byte offset 0"},  // bad continuation
      {std::string("ok \xed\xa0\x80 surrogate"), "byte offset 3"},
      {std::string("\xc0\xaf overlong"), "byte offset 0"},
      {std::string("\xf4\x90\x80\x80 too big"), "byte offset 0"},
  };
  for (const auto& [text, fragment] : rows) {
    auto enc = tok->Encode(text);
    ASSERT_FALSE(enc.ok()) << fragment;
    EXPECT_EQ(enc.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(enc.status().message().find(fragment), std::string::npos) << enc.status().message();
  }
}

TEST(TokenizerEncodeTest, EmptyTextGivesOnlyTemplateTokens) {
  for (const char* name : {"wordpiece_bert_custom", "bpe_byte_level_roberta",
                           "unigram_xlmr_precompiled", "bpe_metaspace_byte_fallback"}) {
    auto tok = Tokenizer::FromFile(TokenizerFixturesDir() / "tiny" / (std::string(name) + ".json"));
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    auto with = tok->Encode("", true);
    auto without = tok->Encode("", false);
    ASSERT_TRUE(with.ok() && without.ok());
    EXPECT_TRUE(without->ids.empty()) << name;
    EXPECT_FALSE(with->ids.empty()) << name;
    for (size_t i = 0; i < with->ids.size(); ++i) {
      EXPECT_EQ(with->special_tokens_mask[i], 1) << name;
      EXPECT_EQ(with->offsets[i], (std::pair<size_t, size_t>{0, 0}));
    }
  }
}

TEST(TokenizerEncodeTest, SpecialAddedTokensInTextAreSpecialPositions) {
  auto tok = Tokenizer::FromFile(TokenizerFixturesDir() / "tiny" / "bpe_byte_level_roberta.json");
  ASSERT_TRUE(tok.ok());
  auto enc = tok->Encode("hello <mask> world", true);
  ASSERT_TRUE(enc.ok());
  const auto mask_id = tok->TokenToId("<mask>");
  ASSERT_TRUE(mask_id.has_value());
  std::vector<size_t> want = {0};
  for (size_t i = 0; i < enc->ids.size(); ++i) {
    if (enc->ids[i] == *mask_id) {
      want.push_back(i);
      EXPECT_EQ(enc->special_tokens_mask[i], 0);  // HF's mask only marks template tokens
      // lstrip makes the token " <mask>" (bytes 5..12); RobertaProcessing's trim_offsets then
      // drops the space from the offsets, as HF does: (6, 12).
      EXPECT_EQ(enc->tokens[i], " <mask>");
      EXPECT_EQ(enc->offsets[i], (std::pair<size_t, size_t>{6, 12}));
    }
  }
  want.push_back(enc->ids.size() - 1);
  EXPECT_EQ(enc->special_positions, want);
}

TEST(TokenizerDirectoryTest, TokenizerConfigRebuildsTemplateForLlamaClasses) {
  sinkscope::testing::TempDir dir;
  const std::string tokenizer_json = sinkscope::testing::ReadFile(
      TokenizerFixturesDir() / "tiny" / "bpe_metaspace_byte_fallback.json");
  sinkscope::testing::WriteFile(dir / "tokenizer.json", tokenizer_json);
  auto write_config = [&](const json& config) {
    sinkscope::testing::WriteFile(dir / "tokenizer_config.json", config.dump());
  };
  write_config({{"tokenizer_class", "LlamaTokenizerFast"},
                {"add_bos_token", true},
                {"add_eos_token", true},
                {"bos_token", "<s>"},
                {"eos_token", {{"content", "</s>"}, {"lstrip", false}}}});
  auto tok = Tokenizer::FromDirectory(dir.path());
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  auto enc = tok->Encode("hi");
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(enc->ids.front(), 1);
  EXPECT_EQ(enc->ids.back(), 2);
  EXPECT_EQ(tok->config().add_eos_token, true);

  write_config(
      {{"tokenizer_class", "LlamaTokenizerFast"}, {"add_bos_token", false}, {"bos_token", "<s>"}});
  tok = Tokenizer::FromDirectory(dir.path());
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  enc = tok->Encode("hi");
  ASSERT_TRUE(enc.ok());
  EXPECT_NE(enc->ids.front(), 1);
  EXPECT_TRUE(enc->special_positions.empty());

  // Other classes keep tokenizer.json's post-processor.
  write_config({{"tokenizer_class", "PreTrainedTokenizerFast"}, {"add_eos_token", true}});
  tok = Tokenizer::FromDirectory(dir.path());
  ASSERT_TRUE(tok.ok());
  enc = tok->Encode("hi");
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(enc->ids.front(), 1);
  EXPECT_NE(enc->ids.back(), 2);

  write_config({{"tokenizer_class", "LlamaTokenizerFast"},
                {"add_eos_token", true},
                {"bos_token", "<s>"},
                {"eos_token", "</nope>"}});
  tok = Tokenizer::FromDirectory(dir.path());
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find("eos_token '</nope>' is not a token"), std::string::npos);

  sinkscope::testing::WriteFile(dir / "tokenizer_config.json", "{broken");
  tok = Tokenizer::FromDirectory(dir.path());
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(tok.status().message().find("tokenizer_config.json"), std::string::npos);
}

// transformers 4.57.6 on the same tokenizer.json with 45 tokenizer_config.json variants
// (tests/fixtures/make_tokenizer_config_fixtures.py).
TEST(TokenizerDirectoryTest, MatchesTransformers) {
  const auto expected = json::parse(sinkscope::testing::ReadFile(
      TokenizerFixturesDir() / "expected" / "tokenizer_config_cases.json"));
  sinkscope::testing::TempDir dir;
  sinkscope::testing::WriteFile(
      dir / "tokenizer.json",
      sinkscope::testing::ReadFile(TokenizerFixturesDir() / "tiny" /
                                   expected.at("tokenizer").get<std::string>()));
  ASSERT_GT(expected.at("cases").size(), 100u);
  for (const auto& c : expected.at("cases")) {
    sinkscope::testing::WriteFile(dir / "tokenizer_config.json", c.at("config").dump());
    auto tok = Tokenizer::FromDirectory(dir.path());
    ASSERT_TRUE(tok.ok()) << c.at("config").dump() << ": " << tok.status().ToString();
    auto enc = tok->Encode(c.at("text").get<std::string>());
    ASSERT_TRUE(enc.ok());
    EXPECT_EQ(enc->ids, c.at("ids").get<std::vector<int32_t>>())
        << c.at("config").dump() << " text '" << c.at("text").get<std::string>() << "'";
  }
}

// --- fuzz loops (the libFuzzer target runs the same bodies) ------------------------------------

const std::vector<std::string>& TinyNames() {
  static const std::vector<std::string> names = {"bpe_byte_level_roberta",
                                                 "bpe_suffix_prefix",
                                                 "bpe_metaspace_byte_fallback",
                                                 "unigram_byte_fallback",
                                                 "wordpiece_bert_custom",
                                                 "wordlevel_split_isolated",
                                                 "wordlevel_bert_pre",
                                                 "bpe_byte_level_split_ignore_merges",
                                                 "wordlevel_nmt_char_delimiter_ctc",
                                                 "bpe_byte_level_normalizer_fixed_length"};
  return names;
}

TEST(TokenizerFuzzTest, ByteFlippedTokenizerJsonNeverCrashes) {
  std::mt19937 rng(20241130);
  const int iterations = sinkscope::testing::FuzzIterations();
  int loaded = 0;
  for (int it = 0; it < iterations; ++it) {
    const std::string& name = TinyNames()[rng() % TinyNames().size()];
    std::string bytes =
        sinkscope::testing::ReadFile(TokenizerFixturesDir() / "tiny" / (name + ".json"));
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int f = 0; f < flips; ++f) {
      bytes[rng() % bytes.size()] = static_cast<char>(rng() % 256);
    }
    const Status s = sinkscope::fuzz::FuzzTokenizerJson(bytes);
    ASSERT_NE(s.code(), StatusCode::kInternal)
        << name << " iteration " << it << ": " << s.ToString();
    loaded += s.ok();
  }
  // Flips inside strings keep the file loadable, so both paths are exercised.
  EXPECT_GT(loaded, 0);
}

// Replaces a random node of the JSON tree by a value of another type.
void MutateJson(json& j, std::mt19937& rng, int depth = 0) {
  if ((j.is_object() || j.is_array()) && !j.empty() && depth < 6 && rng() % 4 != 0) {
    auto it = j.begin();
    std::advance(it, static_cast<long>(rng() % j.size()));
    MutateJson(*it, rng, depth + 1);
    return;
  }
  switch (rng() % 9) {
    case 0:
      j = nullptr;
      break;
    case 1:
      j = -1;
      break;
    case 2:
      j = "x";
      break;
    case 3:
      j = json::array();
      break;
    case 4:
      j = json::object();
      break;
    case 5:
      j = 1e300;
      break;
    case 6:
      j = true;
      break;
    case 7:
      j = 4294967296LL;
      break;
    default:
      j = "(?<=";
      break;
  }
}

TEST(TokenizerFuzzTest, StructurallyDamagedTokenizerJsonNeverCrashes) {
  std::mt19937 rng(7);
  const int iterations = sinkscope::testing::FuzzIterations();
  std::vector<json> bases;
  for (const auto& name : TinyNames()) {
    bases.push_back(json::parse(
        sinkscope::testing::ReadFile(TokenizerFixturesDir() / "tiny" / (name + ".json"))));
  }
  for (int it = 0; it < iterations; ++it) {
    json j = bases[rng() % bases.size()];
    const int mutations = 1 + static_cast<int>(rng() % 3);
    for (int m = 0; m < mutations; ++m) MutateJson(j, rng);
    const Status s = sinkscope::fuzz::FuzzTokenizerJson(j.dump());
    ASSERT_NE(s.code(), StatusCode::kInternal) << "iteration " << it << ": " << s.ToString();
  }
}

TEST(TokenizerFuzzTest, RandomTextNeverCrashes) {
  std::vector<Tokenizer> toks;
  for (const auto& name : TinyNames()) {
    auto tok = Tokenizer::FromFile(TokenizerFixturesDir() / "tiny" / (name + ".json"));
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    toks.push_back(std::move(tok).value());
  }
  toks.push_back(std::move(Tokenizer::FromFile(TokenizerFixturesDir() / "tiny" /
                                               "unigram_xlmr_precompiled.json"))
                     .value());
  // Pieces that stress the pipeline: specials, combining marks, emoji, spaces, controls.
  const std::vector<std::string> pieces = {"<s>",
                                           "</s>",
                                           "<mask>",
                                           "word",
                                           "spaced",
                                           "[CLS]",
                                           " ",
                                           "  ",
                                           "\t",
                                           "\n",
                                           "a",
                                           "Z",
                                           "9",
                                           "e\xCC\x81",
                                           "\xE6\xB1\x89",
                                           "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9",
                                           "\xC2\xA0",
                                           "\xE2\x80\x8B",
                                           "\x00",
                                           "'s",
                                           "\xEF\xAC\x81",
                                           "\xE2\x96\x81",
                                           "\xC4\xB0",
                                           "##",
                                           ".",
                                           "1234"};
  std::mt19937 rng(99);
  const int iterations = sinkscope::testing::FuzzIterations();
  int errors = 0;
  for (int it = 0; it < iterations; ++it) {
    std::string text;
    const int len = static_cast<int>(rng() % 40);
    const bool raw_bytes = rng() % 3 == 0;
    for (int k = 0; k < len; ++k) {
      if (raw_bytes) {
        text.push_back(static_cast<char>(rng() % 256));
      } else {
        text += pieces[rng() % pieces.size()];
      }
    }
    const Tokenizer& tok = toks[rng() % toks.size()];
    const Status s = sinkscope::fuzz::FuzzEncode(tok, text);
    ASSERT_TRUE(s.ok()) << "iteration " << it << ": " << s.ToString();
    errors += !tok.Encode(text).ok();
  }
  EXPECT_GT(errors, 0);  // the raw-byte texts include invalid UTF-8
}

}  // namespace
}  // namespace sinkscope::tokenizer
