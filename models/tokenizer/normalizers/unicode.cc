// Normalizers NFC, NFD, NFKC, NFKD (tokenizers/src/normalizers/unicode.rs): the Unicode
// normalization forms through utf8proc, with the per-character changes of
// unicode-normalization-alignments so that offsets map back like HF's.
#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalizationForm form) : form_(form) {}
  void Normalize(NormalizedString* s) const override { s->Normalize(form_); }

 private:
  NormalizationForm form_;
};

}  // namespace

StatusOr<NormalizerPtr> MakeUnicodeNormalizer(NormalizationForm form) {
  return NormalizerPtr(std::make_unique<UnicodeNormalizer>(form));
}

}  // namespace sinkscope::tokenizer
