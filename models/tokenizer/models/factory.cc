// Model factory: dispatches on the JSON "type"; files without one are recognised by their
// fields, as HF's untagged deserializer does.
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"
#include "models/tokenizer/tokenizer_json_internal.h"

namespace sinkscope::tokenizer {

StatusOr<ModelPtr> MakeModel(const json& j, const ModelTables* tables) {
  if (!j.is_object()) return InvalidArgumentError("model must be a JSON object");
  auto type_field = GetString(j, "type", "");
  if (!type_field.ok()) return type_field.status().WithContext("model");
  std::string t = *type_field;
  if (t.empty()) {
    if (j.contains("merges") || (tables != nullptr && tables->has_merges)) {
      t = "BPE";
    } else if (j.contains("vocab") && j["vocab"].is_array()) {
      t = "Unigram";
    } else if (j.contains("max_input_chars_per_word")) {
      t = "WordPiece";
    } else {
      t = "WordLevel";
    }
  }
  StatusOr<ModelPtr> made = InvalidArgumentError("unknown type");
  if (t == "BPE") {
    made = MakeBpeModel(j, tables);
  } else if (t == "WordPiece") {
    made = MakeWordPieceModel(j, tables);
  } else if (t == "Unigram") {
    made = MakeUnigramModel(j);
  } else if (t == "WordLevel") {
    made = MakeWordLevelModel(j, tables);
  } else {
    return UnimplementedError("model: unknown type '{}'", t);
  }
  if (!made.ok()) return made.status().WithContext(fmt::format("model '{}'", t));
  return made;
}

}  // namespace sinkscope::tokenizer
