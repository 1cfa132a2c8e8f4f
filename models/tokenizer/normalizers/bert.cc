// Normalizer BertNormalizer (tokenizers/src/normalizers/bert.rs), in HF's order: clean text
// (drop NUL, U+FFFD and control characters other than \t\n\r; map whitespace to ' '), pad CJK
// ideographs with spaces, strip accents (NFD then drop Mn; defaults to `lowercase`), lowercase.
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

bool IsChineseChar(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool IsBertWhitespace(char32_t c) {
  return c == '\t' || c == '\n' || c == '\r' || IsWhitespace(c);
}

bool IsBertControl(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  return IsOther(c);
}

class BertNormalizer : public Normalizer {
 public:
  BertNormalizer(bool clean_text, bool handle_chinese_chars, bool strip_accents, bool lowercase)
      : clean_text_(clean_text),
        handle_chinese_chars_(handle_chinese_chars),
        strip_accents_(strip_accents),
        lowercase_(lowercase) {}

  void Normalize(NormalizedString* s) const override {
    if (clean_text_) {
      s->Filter([](char32_t c) { return !(c == 0 || c == 0xFFFD || IsBertControl(c)); });
      s->MapChars([](char32_t c) { return IsBertWhitespace(c) ? U' ' : c; });
    }
    if (handle_chinese_chars_) {
      bool any = false;
      std::vector<CharChange> dest;
      const std::string& text = s->get();
      dest.reserve(text.size());
      for (size_t i = 0; i < text.size();) {
        size_t n;
        const char32_t c = DecodeUtf8(text, i, &n);
        i += n;
        if (IsChineseChar(c)) {
          any = true;
          dest.push_back({U' ', 0});
          dest.push_back({c, 1});
          dest.push_back({U' ', 1});
        } else {
          dest.push_back({c, 0});
        }
      }
      if (any) s->Transform(dest, 0);
    }
    if (strip_accents_) {
      s->Normalize(NormalizationForm::kNFD);
      s->Filter([](char32_t c) { return !IsMarkNonspacing(c); });
    }
    if (lowercase_) s->Lowercase();
  }

 private:
  bool clean_text_, handle_chinese_chars_, strip_accents_, lowercase_;
};

}  // namespace

StatusOr<NormalizerPtr> MakeBertNormalizer(const json& j) {
  ASSIGN_OR_RETURN(const bool clean_text, GetBool(j, "clean_text", true));
  ASSIGN_OR_RETURN(const bool chinese, GetBool(j, "handle_chinese_chars", true));
  ASSIGN_OR_RETURN(const bool lowercase, GetBool(j, "lowercase", true));
  ASSIGN_OR_RETURN(const bool strip_accents, GetBool(j, "strip_accents", lowercase));
  return NormalizerPtr(
      std::make_unique<BertNormalizer>(clean_text, chinese, strip_accents, lowercase));
}

}  // namespace sinkscope::tokenizer
