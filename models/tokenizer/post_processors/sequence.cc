// Post-processor Sequence (tokenizers/src/processors/sequence.rs).
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class SequencePostProcessor : public PostProcessor {
 public:
  explicit SequencePostProcessor(std::vector<PostProcessorPtr> parts) : parts_(std::move(parts)) {}
  Status Process(RawEncoding* encoding, bool add_special_tokens) const override {
    for (const auto& p : parts_) RETURN_IF_ERROR(p->Process(encoding, add_special_tokens));
    return OkStatus();
  }

 private:
  std::vector<PostProcessorPtr> parts_;
};

}  // namespace

StatusOr<PostProcessorPtr> MakeSequencePostProcessor(const json& j) {
  ASSIGN_OR_RETURN(const json* list, RequireMember(j, "processors"));
  if (!list->is_array()) return InvalidArgumentError("field 'processors' must be an array");
  std::vector<PostProcessorPtr> parts;
  for (size_t i = 0; i < list->size(); ++i) {
    auto part = MakePostProcessor((*list)[i]);
    if (!part.ok()) return part.status().WithContext(fmt::format("processors[{}]", i));
    parts.push_back(std::move(part).value());
  }
  return PostProcessorPtr(std::make_unique<SequencePostProcessor>(std::move(parts)));
}

}  // namespace sinkscope::tokenizer
