// Normalizer ByteLevel (tokenizers/src/normalizers/byte_level.rs): every byte of the text becomes
// its GPT-2 character (the mapping the ByteLevel pre-tokenizer applies), without splitting.
#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class ByteLevelNormalizer : public Normalizer {
 public:
  void Normalize(NormalizedString* s) const override { ApplyByteLevelMapping(s); }
};

}  // namespace

void ApplyByteLevelMapping(NormalizedString* s) {
  const std::string& text = s->get();
  if (text.empty()) return;
  std::vector<CharChange> dest;
  dest.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t n = std::min(Utf8Len(static_cast<unsigned char>(text[i])), text.size() - i);
    for (size_t k = 0; k < n; ++k) {
      dest.push_back({ByteToChar(static_cast<uint8_t>(text[i + k])), k > 0 ? 1 : 0});
    }
    i += n;
  }
  s->Transform(dest, 0);
}

StatusOr<NormalizerPtr> MakeByteLevelNormalizer(const json&) {
  return NormalizerPtr(std::make_unique<ByteLevelNormalizer>());
}

}  // namespace sinkscope::tokenizer
