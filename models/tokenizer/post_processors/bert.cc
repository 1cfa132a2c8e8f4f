// Post-processor BertProcessing (tokenizers/src/processors/bert.rs): [CLS] A [SEP].
#include <nlohmann/json.hpp>

#include "models/tokenizer/post_processors/special_internal.h"

namespace sinkscope::tokenizer {
namespace {

class BertPostProcessor : public PostProcessor {
 public:
  explicit BertPostProcessor(std::vector<TemplatePiece> pieces) : pieces_(std::move(pieces)) {}
  Status Process(RawEncoding* encoding, bool add_special_tokens) const override {
    if (add_special_tokens) ApplyTemplate(pieces_, encoding);
    return OkStatus();
  }

 private:
  std::vector<TemplatePiece> pieces_;
};

}  // namespace

StatusOr<TemplatePiece> ParseTokenIdPair(const json& j, std::string_view field) {
  if (!j.contains(field)) return InvalidArgumentError("missing field '{}'", field);
  const json& v = j[std::string(field)];
  if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_number_integer()) {
    return InvalidArgumentError("field '{}' must be [token, id]", field);
  }
  return TemplatePiece{false, {{v[1].get<int32_t>()}, {v[0].get<std::string>()}}};
}

StatusOr<PostProcessorPtr> MakeBertPostProcessor(const json& j) {
  ASSIGN_OR_RETURN(TemplatePiece cls, ParseTokenIdPair(j, "cls"));
  ASSIGN_OR_RETURN(TemplatePiece sep, ParseTokenIdPair(j, "sep"));
  std::vector<TemplatePiece> pieces = {cls, TemplatePiece{true, {}}, sep};
  return PostProcessorPtr(std::make_unique<BertPostProcessor>(std::move(pieces)));
}

}  // namespace sinkscope::tokenizer
