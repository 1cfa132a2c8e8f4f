// Pre-tokenizer Sequence (tokenizers/src/pre_tokenizers/sequence.rs).
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<PreTokenizerPtr> parts) : parts_(std::move(parts)) {}
  void PreTokenize(PreTokenizedString* s) const override {
    for (const auto& p : parts_) p->PreTokenize(s);
  }

 private:
  std::vector<PreTokenizerPtr> parts_;
};

}  // namespace

StatusOr<PreTokenizerPtr> MakeSequencePreTokenizer(const json& j) {
  ASSIGN_OR_RETURN(const json* list, RequireMember(j, "pretokenizers"));
  if (!list->is_array()) return InvalidArgumentError("field 'pretokenizers' must be an array");
  std::vector<PreTokenizerPtr> parts;
  for (size_t i = 0; i < list->size(); ++i) {
    auto part = MakePreTokenizer((*list)[i]);
    if (!part.ok()) return part.status().WithContext(fmt::format("pretokenizers[{}]", i));
    parts.push_back(std::move(part).value());
  }
  return PreTokenizerPtr(std::make_unique<SequencePreTokenizer>(std::move(parts)));
}

}  // namespace sinkscope::tokenizer
