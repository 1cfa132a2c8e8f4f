// Normalizer Lowercase (tokenizers/src/normalizers/utils.rs): Rust char::to_lowercase per
// character (full mapping; no final-sigma rule, which only str::to_lowercase applies).
#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class LowercaseNormalizer : public Normalizer {
 public:
  void Normalize(NormalizedString* s) const override { s->Lowercase(); }
};

}  // namespace

StatusOr<NormalizerPtr> MakeLowercaseNormalizer(const json&) {
  return NormalizerPtr(std::make_unique<LowercaseNormalizer>());
}

}  // namespace sinkscope::tokenizer
