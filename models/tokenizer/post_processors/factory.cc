// Post-processor factory: dispatches on the JSON "type" (tokenizers/src/processors/mod.rs).
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {

StatusOr<PostProcessorPtr> MakePostProcessor(const json& j) {
  if (!j.is_object()) return InvalidArgumentError("post_processor must be a JSON object");
  auto type = RequireString(j, "type");
  if (!type.ok()) return type.status().WithContext("post_processor");
  const std::string& t = *type;
  StatusOr<PostProcessorPtr> made = InvalidArgumentError("unknown type");
  if (t == "TemplateProcessing") {
    made = MakeTemplatePostProcessor(j);
  } else if (t == "BertProcessing") {
    made = MakeBertPostProcessor(j);
  } else if (t == "RobertaProcessing") {
    made = MakeRobertaPostProcessor(j);
  } else if (t == "ByteLevel") {
    made = MakeByteLevelPostProcessor(j);
  } else if (t == "Sequence") {
    made = MakeSequencePostProcessor(j);
  } else {
    return UnimplementedError("post_processor: unknown type '{}'", t);
  }
  if (!made.ok()) return made.status().WithContext(fmt::format("post_processor '{}'", t));
  return made;
}

}  // namespace sinkscope::tokenizer
