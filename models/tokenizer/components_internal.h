// The five component kinds of a tokenizer.json pipeline and their JSON factories. Each
// component lives in its own file under normalizers/, pre_tokenizers/, models/,
// post_processors/ and decoders/; the factories (factory.cc in each folder) dispatch on the
// JSON "type" and every error names the component ("normalizer 'Replace': ...").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"
#include "models/tokenizer/normalized_string_internal.h"

namespace sinkscope::tokenizer {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void Normalize(NormalizedString* s) const = 0;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void PreTokenize(PreTokenizedString* s) const = 0;
};

class Model {
 public:
  virtual ~Model() = default;
  /// Tokens of one pre-tokenized split, offsets relative to `text`. Thread-safe.
  virtual Status Tokenize(std::string_view text, std::vector<Token>* out) const = 0;
  virtual std::optional<int32_t> TokenToId(std::string_view token) const = 0;
  virtual std::optional<std::string> IdToToken(int32_t id) const = 0;
  virtual size_t VocabSize() const = 0;
};

/// One encoded sequence as the post-processors see it (offsets in original-text bytes).
struct RawEncoding {
  std::vector<int32_t> ids;
  std::vector<std::string> tokens;
  std::vector<std::pair<size_t, size_t>> offsets;
  std::vector<uint8_t> special_tokens_mask;  // 1 where a post-processor added the token
  std::vector<uint8_t> special;              // 1 for any special token (added or found)
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual Status Process(RawEncoding* encoding, bool add_special_tokens) const = 0;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual Status DecodeChain(std::vector<std::string>* tokens) const = 0;
};

using NormalizerPtr = std::unique_ptr<Normalizer>;
using PreTokenizerPtr = std::unique_ptr<PreTokenizer>;
using ModelPtr = std::unique_ptr<Model>;
using PostProcessorPtr = std::unique_ptr<PostProcessor>;
using DecoderPtr = std::unique_ptr<Decoder>;
using json = nlohmann::json;

// Factories: `j` is the component's JSON object (never null here).
StatusOr<NormalizerPtr> MakeNormalizer(const json& j);
StatusOr<PreTokenizerPtr> MakePreTokenizer(const json& j);
struct ModelTables;
/// `tables`: model.vocab/model.merges taken out of the DOM by ParseTokenizerJson (may be null).
StatusOr<ModelPtr> MakeModel(const json& j, const ModelTables* tables);
StatusOr<PostProcessorPtr> MakePostProcessor(const json& j);
StatusOr<DecoderPtr> MakeDecoder(const json& j);

// Per-component parsers (one per file).
StatusOr<NormalizerPtr> MakeUnicodeNormalizer(NormalizationForm form);
StatusOr<NormalizerPtr> MakeLowercaseNormalizer(const json& j);
StatusOr<NormalizerPtr> MakeStripNormalizer(const json& j);
StatusOr<NormalizerPtr> MakeStripAccentsNormalizer(const json& j);
StatusOr<NormalizerPtr> MakeReplaceNormalizer(const json& j);
StatusOr<NormalizerPtr> MakePrependNormalizer(const json& j);
StatusOr<NormalizerPtr> MakeBertNormalizer(const json& j);
StatusOr<NormalizerPtr> MakePrecompiledNormalizer(const json& j);
StatusOr<NormalizerPtr> MakeSequenceNormalizer(const json& j);
StatusOr<NormalizerPtr> MakeNmtNormalizer(const json& j);
StatusOr<NormalizerPtr> MakeByteLevelNormalizer(const json& j);

StatusOr<PreTokenizerPtr> MakeByteLevelPreTokenizer(const json& j);
StatusOr<PreTokenizerPtr> MakeSplitPreTokenizer(const json& j);
StatusOr<PreTokenizerPtr> MakeMetaspacePreTokenizer(const json& j);
StatusOr<PreTokenizerPtr> MakeBertPreTokenizer(const json& j);
StatusOr<PreTokenizerPtr> MakeWhitespacePreTokenizer(const json& j);
StatusOr<PreTokenizerPtr> MakeWhitespaceSplitPreTokenizer(const json& j);
StatusOr<PreTokenizerPtr> MakeDigitsPreTokenizer(const json& j);
StatusOr<PreTokenizerPtr> MakePunctuationPreTokenizer(const json& j);
StatusOr<PreTokenizerPtr> MakeSequencePreTokenizer(const json& j);
StatusOr<PreTokenizerPtr> MakeCharDelimiterSplitPreTokenizer(const json& j);
StatusOr<PreTokenizerPtr> MakeFixedLengthPreTokenizer(const json& j);

StatusOr<ModelPtr> MakeBpeModel(const json& j, const ModelTables* tables);
StatusOr<ModelPtr> MakeWordPieceModel(const json& j, const ModelTables* tables);
StatusOr<ModelPtr> MakeUnigramModel(const json& j);
StatusOr<ModelPtr> MakeWordLevelModel(const json& j, const ModelTables* tables);

StatusOr<PostProcessorPtr> MakeTemplatePostProcessor(const json& j);
StatusOr<PostProcessorPtr> MakeBertPostProcessor(const json& j);
StatusOr<PostProcessorPtr> MakeRobertaPostProcessor(const json& j);
StatusOr<PostProcessorPtr> MakeByteLevelPostProcessor(const json& j);
StatusOr<PostProcessorPtr> MakeSequencePostProcessor(const json& j);

StatusOr<DecoderPtr> MakeByteLevelDecoder(const json& j);
StatusOr<DecoderPtr> MakeMetaspaceDecoder(const json& j);
StatusOr<DecoderPtr> MakeWordPieceDecoder(const json& j);
StatusOr<DecoderPtr> MakeByteFallbackDecoder(const json& j);
StatusOr<DecoderPtr> MakeFuseDecoder(const json& j);
StatusOr<DecoderPtr> MakeStripDecoder(const json& j);
StatusOr<DecoderPtr> MakeReplaceDecoder(const json& j);
StatusOr<DecoderPtr> MakeSequenceDecoder(const json& j);
StatusOr<DecoderPtr> MakeBpeDecoder(const json& j);
StatusOr<DecoderPtr> MakeCtcDecoder(const json& j);

// ---------------------------------------------------------------------------------------------
// JSON field helpers: typed reads with defaults; errors name the field.

/// `j[key]` as a bool, `def` if absent or null.
StatusOr<bool> GetBool(const json& j, std::string_view key, bool def);
StatusOr<std::string> GetString(const json& j, std::string_view key, std::string_view def);
/// Required string field.
StatusOr<std::string> RequireString(const json& j, std::string_view key);
/// Optional string: nullopt if absent or null.
StatusOr<std::optional<std::string>> GetOptionalString(const json& j, std::string_view key);
StatusOr<int64_t> GetInt(const json& j, std::string_view key, int64_t def);
/// A required array or object member.
StatusOr<const json*> RequireMember(const json& j, std::string_view key);

/// {"String": s} or {"Regex": r} -> a Pattern.
StatusOr<std::unique_ptr<Pattern>> MakePatternFromJson(const json& j);

/// GPT-2 byte <-> unicode character tables (pre-tokenizer, post-processor and decoder).
char32_t ByteToChar(uint8_t b);
/// -1 when `c` is not in the table.
int CharToByte(char32_t c);

/// Maps every byte to its GPT-2 character (ByteLevel normalizer and pre-tokenizer); all
/// characters made from one input character align with it.
void ApplyByteLevelMapping(NormalizedString* s);

/// The WordPiece decoder's cleanup (" ." -> ".", " n't" -> "n't", ...); CTC uses it too.
std::string WordPieceCleanup(std::string s);

/// Rust-compatible string replace-all (used by decoders).
std::string ReplaceAll(std::string_view s, std::string_view from, std::string_view to);

}  // namespace sinkscope::tokenizer
