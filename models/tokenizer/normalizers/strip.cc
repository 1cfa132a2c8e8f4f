// Normalizer Strip (tokenizers/src/normalizers/strip.rs): removes leading and/or trailing
// White_Space characters.
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void Normalize(NormalizedString* s) const override { s->Strip(left_, right_); }

 private:
  bool left_, right_;
};

}  // namespace

StatusOr<NormalizerPtr> MakeStripNormalizer(const json& j) {
  ASSIGN_OR_RETURN(const bool left, GetBool(j, "strip_left", true));
  ASSIGN_OR_RETURN(const bool right, GetBool(j, "strip_right", true));
  return NormalizerPtr(std::make_unique<StripNormalizer>(left, right));
}

}  // namespace sinkscope::tokenizer
