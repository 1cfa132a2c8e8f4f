// A Hugging Face `tokenizer.json` engine whose token ids equal the Python `tokenizers`
// library's (v0.22.1 is the reference; tests/fixtures/make_tokenizer_fixtures.py).
//
// The pipeline is HF's encode_single_sequence: added tokens are cut out of the text (raw
// ones first, then normalized ones after normalization), the rest is normalized,
// pre-tokenized, and tokenized by the model; the post-processor adds special tokens. Offsets
// follow every edit back to the input's bytes.
//
// Thread safety: a loaded Tokenizer is immutable except for internal caches guarded by locks;
// Encode and Decode may be called from several threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace sinkscope::tokenizer {

struct TokenizerImpl;

/// The result of encoding one text.
struct Encoding {
  std::vector<int32_t> ids;
  /// Token strings as the model's vocabulary spells them (e.g. "Ġthe", "▁the", "##ing").
  std::vector<std::string> tokens;
  /// Byte offsets [begin, end) into the input text; (0, 0) for tokens the post-processor
  /// added. Byte-level tokens that cover part of a multi-byte character span the character.
  std::vector<std::pair<size_t, size_t>> offsets;
  /// HF's special_tokens_mask: 1 where the post-processor added the token (BOS, [CLS]...).
  std::vector<uint8_t> special_tokens_mask;
  /// Positions of special tokens: those the post-processor added and added tokens marked
  /// special that were found in the text (e.g. "<|eot_id|>" typed by the user).
  std::vector<size_t> special_positions;
};

/// Settings read from tokenizer_config.json (FromDirectory).
struct TokenizerConfig {
  std::optional<bool> add_bos_token;
  std::optional<bool> add_eos_token;
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  std::optional<std::string> tokenizer_class;
};

class Tokenizer {
 public:
  /// Loads a tokenizer.json. Errors: NOT_FOUND (no file), INVALID_ARGUMENT (not JSON,
  /// missing fields, bad regex, merges with unknown tokens: the message names the component),
  /// UNIMPLEMENTED (a component type this engine does not know).
  static StatusOr<Tokenizer> FromFile(const std::filesystem::path& path);
  /// Parses tokenizer.json text.
  static StatusOr<Tokenizer> FromJson(std::string_view json_text);
  /// Loads `dir`/tokenizer.json and applies tokenizer_config.json: for the Llama and Gemma
  /// tokenizer classes, add_bos_token/add_eos_token rebuild the template as transformers'
  /// update_post_processor does ("<bos> $A <eos>" with either side optional).
  static StatusOr<Tokenizer> FromDirectory(const std::filesystem::path& dir);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  /// Encodes `text` (UTF-8; INVALID_ARGUMENT naming the byte offset otherwise).
  StatusOr<Encoding> Encode(std::string_view text, bool add_special_tokens = true) const;
  /// Ids to text through the decoder (tokens joined by spaces without one).
  StatusOr<std::string> Decode(const std::vector<int32_t>& ids,
                               bool skip_special_tokens = false) const;

  std::optional<int32_t> TokenToId(std::string_view token) const;
  std::optional<std::string> IdToToken(int32_t id) const;
  /// Model vocabulary plus added tokens not in it.
  size_t VocabSize() const;
  const TokenizerConfig& config() const;

 private:
  explicit Tokenizer(std::unique_ptr<TokenizerImpl> impl);
  std::unique_ptr<TokenizerImpl> impl_;
};

}  // namespace sinkscope::tokenizer
