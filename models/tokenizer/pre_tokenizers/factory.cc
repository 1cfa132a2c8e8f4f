// Pre-tokenizer factory: dispatches on the JSON "type" (tokenizers/src/pre_tokenizers/mod.rs).
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {

StatusOr<PreTokenizerPtr> MakePreTokenizer(const json& j) {
  if (!j.is_object()) return InvalidArgumentError("pre_tokenizer must be a JSON object");
  auto type = RequireString(j, "type");
  if (!type.ok()) return type.status().WithContext("pre_tokenizer");
  const std::string& t = *type;
  StatusOr<PreTokenizerPtr> made = InvalidArgumentError("unknown type");
  if (t == "ByteLevel") {
    made = MakeByteLevelPreTokenizer(j);
  } else if (t == "Split") {
    made = MakeSplitPreTokenizer(j);
  } else if (t == "Metaspace") {
    made = MakeMetaspacePreTokenizer(j);
  } else if (t == "BertPreTokenizer") {
    made = MakeBertPreTokenizer(j);
  } else if (t == "Whitespace") {
    made = MakeWhitespacePreTokenizer(j);
  } else if (t == "WhitespaceSplit") {
    made = MakeWhitespaceSplitPreTokenizer(j);
  } else if (t == "Digits") {
    made = MakeDigitsPreTokenizer(j);
  } else if (t == "Punctuation") {
    made = MakePunctuationPreTokenizer(j);
  } else if (t == "Sequence") {
    made = MakeSequencePreTokenizer(j);
  } else if (t == "CharDelimiterSplit") {
    made = MakeCharDelimiterSplitPreTokenizer(j);
  } else if (t == "FixedLength") {
    made = MakeFixedLengthPreTokenizer(j);
  } else {
    return UnimplementedError("pre_tokenizer: unknown type '{}'", t);
  }
  if (!made.ok()) return made.status().WithContext(fmt::format("pre_tokenizer '{}'", t));
  return made;
}

}  // namespace sinkscope::tokenizer
