// UTF-8 helpers and Unicode properties on top of utf8proc (see unicode_internal.h).
#include <utf8proc.h>
#include <algorithm>

#include "models/tokenizer/unicode_internal.h"
#include "models/tokenizer/unicode_tables_internal.h"

namespace sinkscope::tokenizer {

char32_t DecodeUtf8(std::string_view s, size_t i, size_t* len) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  const size_t n = Utf8Len(b0);
  *len = n;
  if (n == 1) return b0;
  char32_t c = b0 & (0x7F >> n);
  for (size_t k = 1; k < n && i + k < s.size(); ++k) {
    c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  }
  return c;
}

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 with *valid_prefix set to the length of
// the maximal subpart (at least 1) that starts a sequence but is not complete (Unicode §3.9,
// "U+FFFD substitution of maximal subparts", what Rust's from_utf8_lossy does).
size_t ValidSequenceAt(std::string_view s, size_t i, size_t* valid_prefix) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  *valid_prefix = 1;
  if (b0 < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (size_t k = 1; k < n; ++k) {
    if (i + k >= s.size()) return 0;
    const auto b = static_cast<unsigned char>(s[i + k]);
    const unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (b < l || b > h) return 0;
    *valid_prefix = k + 1;
  }
  return n;
}

}  // namespace

Status ValidateUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t prefix;
    const size_t n = ValidSequenceAt(s, i, &prefix);
    if (n == 0) {
      return InvalidArgumentError(
          "text is not valid UTF-8: invalid sequence at byte offset {} (byte 0x{:02X})", i,
          static_cast<unsigned char>(s[i]));
    }
    i += n;
  }
  return OkStatus();
}

std::string Utf8Lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    size_t prefix;
    const size_t n = ValidSequenceAt(s, i, &prefix);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      i += prefix;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::u32string ToCodePoints(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n;
    out.push_back(DecodeUtf8(s, i, &n));
    i += n;
  }
  return out;
}

namespace {

int Category(char32_t c) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(c));
}

}  // namespace

bool IsWhitespace(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool IsNumeric(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  const int cat = Category(c);
  return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO;
}

bool IsBertPunctuation(char32_t c) {
  if (c < 0x80) {
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
           (c >= 123 && c <= 126);
  }
  return old_unicode::InRanges(old_unicode::kPunctuation, c);
}

bool IsOther(char32_t c) {
  return old_unicode::InRanges(old_unicode::kOther, c);
}

bool IsMarkNonspacing(char32_t c) {
  return c >= 0x300 && old_unicode::InRanges(old_unicode::kMarkNonspacing, c);
}

bool IsCombiningMark(char32_t c) {
  return c >= 0x300 && old_unicode::InRanges(old_unicode::kCombiningMark9, c);
}

bool IsWordChar(char32_t c) {
  if (c < 0x80) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  }
  if (c == 0x200C || c == 0x200D) return true;  // Join_Control
  // Other_Alphabetic symbols: circled Latin letters.
  if ((c >= 0x24B6 && c <= 0x24E9) || (c >= 0x1F130 && c <= 0x1F189)) return true;
  const int cat = Category(c);
  return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_ND) ||
         cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_PC;
}

int CombiningClass(char32_t c) {
  if (c < 0x300) return 0;
  return old_unicode::CombiningClass9(c);
}

void ToLowercase(char32_t c, std::u32string* out) {
  if (c < 0x80) {
    out->push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return;
  }
  if (c == 0x130) {  // SpecialCasing.txt: LATIN CAPITAL LETTER I WITH DOT ABOVE
    out->push_back(U'i');
    out->push_back(0x307);
    return;
  }
  out->push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
}

namespace {

constexpr char32_t kHangulSBase = 0xAC00, kHangulLBase = 0x1100, kHangulVBase = 0x1161,
                   kHangulTBase = 0x11A7;
constexpr int kHangulLCount = 19, kHangulVCount = 21, kHangulTCount = 28,
              kHangulNCount = kHangulVCount * kHangulTCount,
              kHangulSCount = kHangulLCount * kHangulNCount;

// Whether `c` may be the second character of a canonical composition pair.
bool MayComposeAsSecond(char32_t c) {
  if (c >= kHangulVBase && c < kHangulVBase + kHangulVCount) return true;
  if (c > kHangulTBase && c < kHangulTBase + kHangulTCount) return true;
  const auto* p = utf8proc_get_property(static_cast<utf8proc_int32_t>(c));
  return p->comb_index != UINT16_MAX && p->comb_index >= 0x8000;
}

// The primary composite of (a, b), or 0.
char32_t ComposePair(char32_t a, char32_t b) {
  if (a >= kHangulLBase && a < kHangulLBase + kHangulLCount && b >= kHangulVBase &&
      b < kHangulVBase + kHangulVCount) {
    return kHangulSBase + ((a - kHangulLBase) * kHangulVCount + (b - kHangulVBase)) * kHangulTCount;
  }
  if (a >= kHangulSBase && a < kHangulSBase + kHangulSCount &&
      (a - kHangulSBase) % kHangulTCount == 0 && b > kHangulTBase &&
      b < kHangulTBase + kHangulTCount) {
    return a + (b - kHangulTBase);
  }
  utf8proc_int32_t buf[2] = {static_cast<utf8proc_int32_t>(a), static_cast<utf8proc_int32_t>(b)};
  const auto n = utf8proc_normalize_utf32(buf, 2, static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE));
  if (n != 1) return 0;
  const auto composed = static_cast<char32_t>(buf[0]);
  // Only compositions Unicode 9.0 knew (the Rust crate's data).
  return old_unicode::InRanges(old_unicode::kPrimaryComposite9, composed) ? composed : 0;
}

}  // namespace

std::vector<CharChange> NormalizeWithChanges(std::string_view s, NormalizationForm form) {
  const bool compat = form == NormalizationForm::kNFKC || form == NormalizationForm::kNFKD;
  const bool compose = form == NormalizationForm::kNFC || form == NormalizationForm::kNFKC;
  std::vector<CharChange> out;
  out.reserve(s.size());
  // 1. Full decomposition of each character: (first, 0), (rest, +1).
  utf8proc_int32_t buf[32];
  const auto options =
      static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE | (compat ? UTF8PROC_COMPAT : 0));
  for (size_t i = 0; i < s.size();) {
    size_t n;
    const char32_t c = DecodeUtf8(s, i, &n);
    i += n;
    const bool hangul = c >= kHangulSBase && c < kHangulSBase + kHangulSCount;
    // Decompose only what Unicode 9.0 decomposes (nothing below U+00A0 does).
    const bool decomposes =
        c >= 0xA0 &&
        (hangul || (compat ? old_unicode::InRanges(old_unicode::kCompatDecomposable9, c)
                           : old_unicode::InRanges(old_unicode::kCanonicalDecomposable9, c)));
    if (!decomposes) {
      out.push_back({c, 0});
      continue;
    }
    int last_boundclass = 0;
    const auto k = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), buf, 32, options,
                                           &last_boundclass);
    if (k <= 0 || k > 32) {
      out.push_back({c, 0});
      continue;
    }
    for (utf8proc_ssize_t j = 0; j < k; ++j) {
      out.push_back({static_cast<char32_t>(buf[j]), j == 0 ? 0 : 1});
    }
  }
  // 2. Canonical ordering: stable sort of each run of non-starters by combining class.
  for (size_t i = 0; i < out.size();) {
    if (CombiningClass(out[i].c) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < out.size() && CombiningClass(out[j].c) != 0) ++j;
    if (j - i > 1) {
      std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(i),
                       out.begin() + static_cast<std::ptrdiff_t>(j),
                       [](const CharChange& a, const CharChange& b) {
                         return CombiningClass(a.c) < CombiningClass(b.c);
                       });
    }
    i = j;
  }
  if (!compose) return out;
  // 3. Canonical composition. A character is blocked from the last starter when a character
  //    between them has combining class 0 or >= its own.
  std::vector<CharChange> composed;
  composed.reserve(out.size());
  ptrdiff_t starter = -1;
  int last_cc = -1;  // -1: nothing between the starter and the current character
  for (const CharChange& cc : out) {
    const int klass = CombiningClass(cc.c);
    if (starter >= 0 && (last_cc == -1 || (last_cc != 0 && last_cc < klass)) &&
        MayComposeAsSecond(cc.c)) {
      const char32_t p = ComposePair(composed[static_cast<size_t>(starter)].c, cc.c);
      if (p != 0) {
        composed[static_cast<size_t>(starter)].c = p;
        composed[static_cast<size_t>(starter)].change += cc.change - 1;
        continue;
      }
    }
    if (klass == 0) {
      starter = static_cast<ptrdiff_t>(composed.size());
      last_cc = -1;
    } else {
      last_cc = klass;
    }
    composed.push_back(cc);
  }
  return composed;
}

std::vector<size_t> GraphemeBoundaries(std::string_view s) {
  std::vector<size_t> bounds;
  bounds.reserve(s.size() + 1);
  utf8proc_int32_t state = 0;
  char32_t prev = 0;
  for (size_t i = 0; i < s.size();) {
    size_t n;
    const char32_t c = DecodeUtf8(s, i, &n);
    if (i == 0 || utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(prev),
                                                   static_cast<utf8proc_int32_t>(c), &state)) {
      bounds.push_back(i);
    }
    prev = c;
    i += n;
  }
  bounds.push_back(s.size());
  return bounds;
}

}  // namespace sinkscope::tokenizer
