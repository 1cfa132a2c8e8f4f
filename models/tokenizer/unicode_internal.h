// UTF-8 and Unicode character properties as the Rust `tokenizers` crate sees them.
//
// The Rust crate asks std's `char` methods (is_whitespace, is_numeric, to_lowercase: current
// Unicode), the `unicode_categories` 0.1.1 crate (is_punctuation, is_other, is_mark_nonspacing:
// Unicode 8.0 tables, reproduced in unicode_tables_internal.h) and the
// `unicode-normalization-alignments` 0.1.12 crate (NFC/NFD/NFKC/NFKD and is_combining_mark:
// Unicode 9.0; is_combining_mark's table is reproduced, the normalization itself goes to
// utf8proc, Unicode 15 in Debian bookworm's 2.8). Known residual difference: characters
// assigned after Unicode 9.0 that decompose or have a non-zero combining class are normalized
// by utf8proc's newer data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sinkscope::tokenizer {

/// Number of bytes of the UTF-8 sequence starting with byte `b` (1 for continuation bytes,
/// which valid input never starts with).
inline size_t Utf8Len(unsigned char b) {
  if (b < 0x80) return 1;
  if ((b >> 5) == 0x6) return 2;
  if ((b >> 4) == 0xE) return 3;
  if ((b >> 3) == 0x1E) return 4;
  return 1;
}

/// Decodes the code point at `s[i]` (valid UTF-8 assumed) and stores its length in `*len`.
char32_t DecodeUtf8(std::string_view s, size_t i, size_t* len);

/// Appends the UTF-8 encoding of `c`.
void AppendUtf8(char32_t c, std::string* out);

/// OK, or INVALID_ARGUMENT naming the byte offset of the first invalid sequence.
Status ValidateUtf8(std::string_view s);

/// Rust's String::from_utf8_lossy: each maximal invalid subpart becomes U+FFFD.
std::string Utf8Lossy(std::string_view bytes);

/// Unicode code points of `s` (valid UTF-8).
std::u32string ToCodePoints(std::string_view s);

/// Rust char::is_whitespace (the White_Space property).
bool IsWhitespace(char32_t c);
/// Rust char::is_numeric (general categories Nd, Nl, No).
bool IsNumeric(char32_t c);
/// unicode_categories is_punctuation (P* in Unicode 8.0) or ASCII punctuation.
bool IsBertPunctuation(char32_t c);
/// unicode_categories is_other: Cc, Cf and the listed Co endpoints of Unicode 8.0 (never Cn).
bool IsOther(char32_t c);
/// General category Mn in Unicode 8.0 (unicode_categories is_mark_nonspacing).
bool IsMarkNonspacing(char32_t c);
/// General category M* in Unicode 9.0 (unicode-normalization-alignments is_combining_mark).
bool IsCombiningMark(char32_t c);
/// Rust regex `\w` (Unicode): alphabetic, marks, decimal digits, connector punctuation,
/// join controls.
bool IsWordChar(char32_t c);
/// Canonical combining class.
int CombiningClass(char32_t c);

/// Rust char::to_lowercase (full mapping: U+0130 becomes two characters).
void ToLowercase(char32_t c, std::u32string* out);

/// One output character of a Unicode normalization and its change relative to the input, in
/// the convention of NormalizedString::Transform (0: replaces one input character, +1: is
/// inserted, -n: replaces one and removes n more).
struct CharChange {
  char32_t c;
  int64_t change;
};

enum class NormalizationForm { kNFC, kNFD, kNFKC, kNFKD };

/// Normalizes `s` and reports per-character changes, as unicode-normalization-alignments
/// does: decomposition gives (first, 0), (rest, +1); canonical reordering carries the changes
/// along; composition folds the second character into the starter (change a + b - 1).
std::vector<CharChange> NormalizeWithChanges(std::string_view s, NormalizationForm form);

/// Byte offsets where extended grapheme clusters start, plus s.size() at the end.
std::vector<size_t> GraphemeBoundaries(std::string_view s);

}  // namespace sinkscope::tokenizer
