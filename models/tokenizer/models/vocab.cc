// Vocabulary object parsing (vocab_internal.h).
#include <nlohmann/json.hpp>

#include "models/tokenizer/models/vocab_internal.h"
#include "models/tokenizer/tokenizer_json_internal.h"

namespace sinkscope::tokenizer {

Status CheckDenseIds(int64_t max_id, size_t count) {
  // The id -> token table is sized by the largest id; a file with a few huge ids must not make
  // us allocate gigabytes. Real vocabularies are dense (ids 0..n-1).
  if (max_id >= 0 && static_cast<uint64_t>(max_id) >= 4 * static_cast<uint64_t>(count) + 1024) {
    return InvalidArgumentError("vocab ids are sparse: largest id {} for {} tokens", max_id, count);
  }
  return OkStatus();
}

StatusOr<Vocab> ParseVocabObject(const json& j, const ModelTables* tables) {
  Vocab vocab;
  if (tables != nullptr && tables->has_vocab) {
    int64_t max_id = -1;
    vocab.token_to_id.reserve(tables->vocab.size());
    for (const auto& [token, id] : tables->vocab) {
      if (id < 0 || id > (1 << 30))
        return InvalidArgumentError("vocab['{}']: bad id {}", token, id);
      vocab.token_to_id[token] = static_cast<int32_t>(id);
      max_id = std::max(max_id, id);
    }
    RETURN_IF_ERROR(CheckDenseIds(max_id, vocab.token_to_id.size()));
    vocab.id_to_token.resize(static_cast<size_t>(max_id + 1));
    for (const auto& [token, id] : vocab.token_to_id) {
      vocab.id_to_token[static_cast<size_t>(id)] = token;
    }
    return vocab;
  }
  ASSIGN_OR_RETURN(const json* vocab_json, RequireMember(j, "vocab"));
  if (!vocab_json->is_object()) return InvalidArgumentError("field 'vocab' must be an object");
  vocab.token_to_id.reserve(vocab_json->size());
  int64_t max_id = -1;
  for (auto it = vocab_json->begin(); it != vocab_json->end(); ++it) {
    if (!it.value().is_number_integer()) {
      return InvalidArgumentError("vocab['{}'] must be an integer id", it.key());
    }
    const int64_t id = it.value().get<int64_t>();
    if (id < 0 || id > (1 << 30))
      return InvalidArgumentError("vocab['{}']: bad id {}", it.key(), id);
    vocab.token_to_id.emplace(it.key(), static_cast<int32_t>(id));
    max_id = std::max(max_id, id);
  }
  RETURN_IF_ERROR(CheckDenseIds(max_id, vocab.token_to_id.size()));
  vocab.id_to_token.resize(static_cast<size_t>(max_id + 1));
  for (const auto& [token, id] : vocab.token_to_id)
    vocab.id_to_token[static_cast<size_t>(id)] = token;
  return vocab;
}

}  // namespace sinkscope::tokenizer
