// Model WordLevel (tokenizers/src/models/wordlevel/mod.rs): the whole split is looked up; if
// absent it is the unk token (an error when unk_token is not in the vocabulary).
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"
#include "models/tokenizer/models/vocab_internal.h"

namespace sinkscope::tokenizer {
namespace {

class WordLevelModel : public Model {
 public:
  WordLevelModel(Vocab vocab, std::string unk) : vocab_(std::move(vocab)), unk_(std::move(unk)) {}

  Status Tokenize(std::string_view text, std::vector<Token>* out) const override {
    auto it = vocab_.token_to_id.find(std::string(text));
    if (it != vocab_.token_to_id.end()) {
      out->push_back({it->second, std::string(text), 0, text.size()});
      return OkStatus();
    }
    auto unk = vocab_.token_to_id.find(unk_);
    if (unk == vocab_.token_to_id.end()) {
      return InvalidArgumentError(
          "WordLevel: '{}' is not in the vocabulary and unk_token '{}' "
          "is missing",
          text, unk_);
    }
    out->push_back({unk->second, unk_, 0, text.size()});
    return OkStatus();
  }

  std::optional<int32_t> TokenToId(std::string_view token) const override {
    return vocab_.Find(token);
  }
  std::optional<std::string> IdToToken(int32_t id) const override { return vocab_.Token(id); }
  size_t VocabSize() const override { return vocab_.token_to_id.size(); }

 private:
  Vocab vocab_;
  std::string unk_;
};

}  // namespace

StatusOr<ModelPtr> MakeWordLevelModel(const json& j, const ModelTables* tables) {
  ASSIGN_OR_RETURN(Vocab vocab, ParseVocabObject(j, tables));
  ASSIGN_OR_RETURN(std::string unk, GetString(j, "unk_token", "<unk>"));
  return ModelPtr(std::make_unique<WordLevelModel>(std::move(vocab), std::move(unk)));
}

}  // namespace sinkscope::tokenizer
