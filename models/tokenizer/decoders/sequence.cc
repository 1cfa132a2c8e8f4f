// Decoder Sequence (tokenizers/src/decoders/sequence.rs).
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<DecoderPtr> parts) : parts_(std::move(parts)) {}
  Status DecodeChain(std::vector<std::string>* tokens) const override {
    for (const auto& p : parts_) RETURN_IF_ERROR(p->DecodeChain(tokens));
    return OkStatus();
  }

 private:
  std::vector<DecoderPtr> parts_;
};

}  // namespace

StatusOr<DecoderPtr> MakeSequenceDecoder(const json& j) {
  ASSIGN_OR_RETURN(const json* list, RequireMember(j, "decoders"));
  if (!list->is_array()) return InvalidArgumentError("field 'decoders' must be an array");
  std::vector<DecoderPtr> parts;
  for (size_t i = 0; i < list->size(); ++i) {
    auto part = MakeDecoder((*list)[i]);
    if (!part.ok()) return part.status().WithContext(fmt::format("decoders[{}]", i));
    parts.push_back(std::move(part).value());
  }
  return DecoderPtr(std::make_unique<SequenceDecoder>(std::move(parts)));
}

}  // namespace sinkscope::tokenizer
