// Normalizer StripAccents (tokenizers/src/normalizers/strip.rs): removes every combining mark
// (general category M*). It does not decompose first: HF pipelines put NFD/NFKD before it.
#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class StripAccentsNormalizer : public Normalizer {
 public:
  void Normalize(NormalizedString* s) const override {
    s->Filter([](char32_t c) { return !IsCombiningMark(c); });
  }
};

}  // namespace

StatusOr<NormalizerPtr> MakeStripAccentsNormalizer(const json&) {
  return NormalizerPtr(std::make_unique<StripAccentsNormalizer>());
}

}  // namespace sinkscope::tokenizer
