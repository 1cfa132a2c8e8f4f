// Reading a {"token": id} vocabulary object (WordPiece, WordLevel).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {

struct Vocab {
  std::unordered_map<std::string, int32_t> token_to_id;
  std::vector<std::string> id_to_token;  // "" for ids no token has

  std::optional<int32_t> Find(std::string_view token) const {
    auto it = token_to_id.find(std::string(token));
    if (it == token_to_id.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::string> Token(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= id_to_token.size()) return std::nullopt;
    return id_to_token[static_cast<size_t>(id)];
  }
};

/// j["vocab"], or tables->vocab when ParseTokenizerJson took it out of the DOM.
/// INVALID_ARGUMENT unless max_id < 4 * count + 1024 (bounds the id -> token table).
Status CheckDenseIds(int64_t max_id, size_t count);

StatusOr<Vocab> ParseVocabObject(const json& j, const ModelTables* tables);

}  // namespace sinkscope::tokenizer
