// Normalizer Sequence (tokenizers/src/normalizers/utils.rs): applies its normalizers in order.
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<NormalizerPtr> parts) : parts_(std::move(parts)) {}
  void Normalize(NormalizedString* s) const override {
    for (const auto& p : parts_) p->Normalize(s);
  }

 private:
  std::vector<NormalizerPtr> parts_;
};

}  // namespace

StatusOr<NormalizerPtr> MakeSequenceNormalizer(const json& j) {
  ASSIGN_OR_RETURN(const json* list, RequireMember(j, "normalizers"));
  if (!list->is_array()) return InvalidArgumentError("field 'normalizers' must be an array");
  std::vector<NormalizerPtr> parts;
  for (size_t i = 0; i < list->size(); ++i) {
    auto part = MakeNormalizer((*list)[i]);
    if (!part.ok()) return part.status().WithContext(fmt::format("normalizers[{}]", i));
    parts.push_back(std::move(part).value());
  }
  return NormalizerPtr(std::make_unique<SequenceNormalizer>(std::move(parts)));
}

}  // namespace sinkscope::tokenizer
