// Normalizer Nmt (tokenizers/src/normalizers/unicode.rs, do_nmt): SentencePiece's NMT rules —
// drops ASCII/C1 control characters other than \t \n \f \r, then maps those four and a few
// invisible or space-like characters (U+1680, U+200B..U+200F, U+2028, U+2029, U+2581, U+FEFF,
// U+FFFD) to ' '.
#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class NmtNormalizer : public Normalizer {
 public:
  void Normalize(NormalizedString* s) const override {
    s->Filter([](char32_t c) {
      return !((c >= 0x1 && c <= 0x8) || c == 0xB || (c >= 0xE && c <= 0x1F) || c == 0x7F ||
               c == 0x8F || c == 0x9F);
    });
    s->MapChars([](char32_t c) -> char32_t {
      const bool space = c == 0x9 || c == 0xA || c == 0xC || c == 0xD || c == 0x1680 ||
                         (c >= 0x200B && c <= 0x200F) || c == 0x2028 || c == 0x2029 ||
                         c == 0x2581 || c == 0xFEFF || c == 0xFFFD;
      return space ? U' ' : c;
    });
  }
};

}  // namespace

StatusOr<NormalizerPtr> MakeNmtNormalizer(const json&) {
  return NormalizerPtr(std::make_unique<NmtNormalizer>());
}

}  // namespace sinkscope::tokenizer
