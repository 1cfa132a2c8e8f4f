// Model WordPiece (tokenizers/src/models/wordpiece/mod.rs): greedy longest-match-first from
// the left; pieces after the first carry continuing_subword_prefix ("##"). A word longer than
// max_input_chars_per_word characters, or one that cannot be covered, is a single unk token.
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"
#include "models/tokenizer/models/vocab_internal.h"

namespace sinkscope::tokenizer {
namespace {

class WordPieceModel : public Model {
 public:
  WordPieceModel(Vocab vocab, std::string unk, std::string prefix, size_t max_chars)
      : vocab_(std::move(vocab)),
        unk_(std::move(unk)),
        prefix_(std::move(prefix)),
        max_chars_(max_chars) {}

  Status Tokenize(std::string_view text, std::vector<Token>* out) const override {
    size_t chars = 0;
    for (const char c : text) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    if (chars > max_chars_) return PushUnk(text, out);
    const size_t first = out->size();
    std::string key;
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.size();
      bool found = false;
      while (start < end) {
        key.clear();
        if (start > 0) key = prefix_;
        key.append(text.substr(start, end - start));
        auto it = vocab_.token_to_id.find(key);
        if (it != vocab_.token_to_id.end()) {
          out->push_back({it->second, key, start, end});
          found = true;
          break;
        }
        // Step back one character.
        size_t back = end - 1;
        while (back > start && (static_cast<unsigned char>(text[back]) & 0xC0) == 0x80) --back;
        end = back;
      }
      if (!found) {
        out->resize(first);
        return PushUnk(text, out);
      }
      start = end;
    }
    return OkStatus();
  }

  std::optional<int32_t> TokenToId(std::string_view token) const override {
    return vocab_.Find(token);
  }
  std::optional<std::string> IdToToken(int32_t id) const override { return vocab_.Token(id); }
  size_t VocabSize() const override { return vocab_.token_to_id.size(); }

 private:
  Status PushUnk(std::string_view text, std::vector<Token>* out) const {
    auto it = vocab_.token_to_id.find(unk_);
    if (it == vocab_.token_to_id.end()) {
      return InvalidArgumentError("WordPiece: unk_token '{}' is not in the vocabulary", unk_);
    }
    out->push_back({it->second, unk_, 0, text.size()});
    return OkStatus();
  }

  Vocab vocab_;
  std::string unk_;
  std::string prefix_;
  size_t max_chars_;
};

}  // namespace

StatusOr<ModelPtr> MakeWordPieceModel(const json& j, const ModelTables* tables) {
  ASSIGN_OR_RETURN(Vocab vocab, ParseVocabObject(j, tables));
  ASSIGN_OR_RETURN(std::string unk, GetString(j, "unk_token", "[UNK]"));
  ASSIGN_OR_RETURN(std::string prefix, GetString(j, "continuing_subword_prefix", "##"));
  ASSIGN_OR_RETURN(const int64_t max_chars, GetInt(j, "max_input_chars_per_word", 100));
  if (max_chars < 0) return InvalidArgumentError("max_input_chars_per_word must be >= 0");
  return ModelPtr(std::make_unique<WordPieceModel>(
      std::move(vocab), std::move(unk), std::move(prefix), static_cast<size_t>(max_chars)));
}

}  // namespace sinkscope::tokenizer
