// The per-character Unicode normalization (which tracks alignments like HF's
// unicode-normalization-alignments) must produce exactly the text utf8proc's whole-string
// normalization does; and NormalizedString keeps HF's alignments through edits.
#include <random>

#include <gtest/gtest.h>
#include <utf8proc.h>

#include "models/tokenizer/normalized_string_internal.h"
#include "models/tokenizer/unicode_internal.h"

namespace sinkscope::tokenizer {
namespace {

std::string Utf8procNormalize(const std::string& s, NormalizationForm form) {
  utf8proc_uint8_t* out = nullptr;
  const auto* in = reinterpret_cast<const utf8proc_uint8_t*>(s.c_str());
  switch (form) {
    case NormalizationForm::kNFC:
      out = utf8proc_NFC(in);
      break;
    case NormalizationForm::kNFD:
      out = utf8proc_NFD(in);
      break;
    case NormalizationForm::kNFKC:
      out = utf8proc_NFKC(in);
      break;
    case NormalizationForm::kNFKD:
      out = utf8proc_NFKD(in);
      break;
  }
  std::string r(reinterpret_cast<const char*>(out));
  std::free(out);
  return r;
}

std::string Joined(const std::vector<CharChange>& chars) {
  std::string s;
  for (const auto& c : chars) AppendUtf8(c.c, &s);
  return s;
}

TEST(UnicodeNormalizationTest, MatchesUtf8procOnRandomMixedText) {
  // Starters that compose, combining marks of several classes (out of canonical order too),
  // Hangul syllables and jamo, compatibility characters, CJK, emoji.
  const std::u32string pool = {U'a',    U'e',    U'o',   U'A',   U'n',   U'u',   U'i',   U' ',
                               0x300,   0x301,   0x302,  0x303,  0x308,  0x323,  0x327,  0x328,
                               0x31B,   0x345,   0x0F71, 0x0F72, 0x05B0, 0x05BC, 0x1100, 0x1161,
                               0x11A8,  0xAC00,  0xD4DB, 0xFB01, 0x2163, 0x00BD, 0x00B2, 0x3300,
                               0xFF21,  0x212B,  0x2126, 0x0958, 0x0B47, 0x0B3E, 0x0E33, 0x6F22,
                               0x1F600, 0x1F3FD, 0x200D, 0x00C5, 0x1E0A, 0x0344, 0x1FEE, 0x03D3};
  std::mt19937 rng(5);
  for (int it = 0; it < 3000; ++it) {
    std::string s;
    const int len = 1 + static_cast<int>(rng() % 12);
    for (int k = 0; k < len; ++k) AppendUtf8(pool[rng() % pool.size()], &s);
    for (const auto form : {NormalizationForm::kNFC, NormalizationForm::kNFD,
                            NormalizationForm::kNFKC, NormalizationForm::kNFKD}) {
      const auto chars = NormalizeWithChanges(s, form);
      ASSERT_EQ(Joined(chars), Utf8procNormalize(s, form))
          << "form " << static_cast<int>(form) << " iteration " << it;
      // The changes account for every input character: sum(change) = |out| - |in| chars.
      int64_t sum = 0;
      for (const auto& c : chars) sum += c.change;
      EXPECT_EQ(sum,
                static_cast<int64_t>(chars.size()) - static_cast<int64_t>(ToCodePoints(s).size()));
    }
  }
}

TEST(UnicodeNormalizationTest, ComposesAndDecomposesKnownPairs) {
  EXPECT_EQ(Joined(NormalizeWithChanges("e\xCC\x81", NormalizationForm::kNFC)), "\xC3\xA9");
  EXPECT_EQ(
      Joined(NormalizeWithChanges("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8", NormalizationForm::kNFC)),
      "\xEA\xB0\x81");  // ᄀ ᅡ ᆨ -> 각
  const auto nfd = NormalizeWithChanges("\xC3\xA9", NormalizationForm::kNFD);
  ASSERT_EQ(nfd.size(), 2u);
  EXPECT_EQ(nfd[0].change, 0);
  EXPECT_EQ(nfd[1].change, 1);
  const auto nfc = NormalizeWithChanges("e\xCC\x81", NormalizationForm::kNFC);
  ASSERT_EQ(nfc.size(), 1u);
  EXPECT_EQ(nfc[0].change, -1);
}

TEST(UnicodeNormalizationTest, UsesUnicode9DataLikeHf) {
  // U+1E4EC (Wancho, Unicode 12) has combining class 232 today but none in the Unicode 9.0 data
  // of HF's normalization crate, so it is a starter there: no reordering with U+0301.
  const std::string text = "a\xF0\x9E\x93\xAC\xCC\x81";
  EXPECT_EQ(Joined(NormalizeWithChanges(text, NormalizationForm::kNFD)), text);
  EXPECT_NE(Utf8procNormalize(text, NormalizationForm::kNFD), text);
  // U+11938 (Dives Akuru, Unicode 13) = U+11935 U+11930 canonically, unknown to Unicode 9.0.
  const std::string composed = "\xF0\x91\xA4\xB8";
  EXPECT_EQ(Joined(NormalizeWithChanges(composed, NormalizationForm::kNFD)), composed);
  EXPECT_EQ(
      Joined(NormalizeWithChanges("\xF0\x91\xA4\xB5\xF0\x91\xA4\xB0", NormalizationForm::kNFC)),
      "\xF0\x91\xA4\xB5\xF0\x91\xA4\xB0");
  // Category tables are Unicode 8.0: unassigned U+0378 is not "other" (kept by BERT's
  // clean_text); private use is; Kawi's U+11F00 (Unicode 15) is not a nonspacing mark.
  EXPECT_FALSE(IsOther(0x378));
  EXPECT_TRUE(IsOther(0xE001));
  EXPECT_FALSE(IsMarkNonspacing(0x11F00));
  EXPECT_TRUE(IsMarkNonspacing(0x301));
  EXPECT_FALSE(IsBertPunctuation(0x2E50));  // Unicode 13 punctuation
  EXPECT_TRUE(IsBertPunctuation(0x3001));
}

TEST(NormalizedStringTest, AlignmentsFollowEdits) {
  NormalizedString s("H\xC3\xA9llo world");  // "Héllo world"
  s.Normalize(NormalizationForm::kNFD);      // é -> e + U+0301 (both align with é)
  EXPECT_EQ(s.get(), "He\xCC\x81llo world");
  EXPECT_EQ(s.alignments()[1], (Span{1, 3}));
  EXPECT_EQ(s.alignments()[2], (Span{1, 3}));
  s.Filter([](char32_t c) { return c != 0x301; });
  EXPECT_EQ(s.get(), "Hello world");
  s.Lowercase();
  s.Prepend("\xE2\x96\x81");  // ▁ aligns with the first character
  EXPECT_EQ(s.get(), "\xE2\x96\x81hello world");
  EXPECT_EQ(s.alignments()[0], (Span{0, 1}));
  const auto r = s.ConvertNormalizedRange(3, 8);  // "hello"
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, (std::pair<size_t, size_t>{0, 6}));
  const auto slice = s.Slice(9, 14);  // "world"
  ASSERT_TRUE(slice.has_value());
  EXPECT_EQ(slice->get(), "world");
  EXPECT_EQ(slice->original_shift(), 7u);
  EXPECT_FALSE(s.Slice(1, 2).has_value());  // inside the 3-byte ▁
}

TEST(NormalizedStringTest, ReplaceGivesNewTextTheAlignmentOfTheMatchEnd) {
  NormalizedString s("a  b");
  LiteralPattern space(" ");
  std::vector<std::pair<size_t, size_t>> matches;
  for (const auto& p : space.FindMatches(s.get())) {
    if (p.is_match) matches.emplace_back(p.begin, p.end);
  }
  s.ReplaceRanges(matches, "\xE2\x96\x81");
  EXPECT_EQ(s.get(),
            "a\xE2\x96\x81\xE2\x96\x81"
            "b");
  EXPECT_EQ(s.alignments()[1], (Span{1, 2}));
  EXPECT_EQ(s.alignments()[4], (Span{2, 3}));
  EXPECT_EQ(s.alignments()[7], (Span{3, 4}));
}

TEST(SplitTest, BehaviorsSplitLikeHf) {
  // HF's own examples (tokenizer/normalizer.rs tests): "The-final--countdown" split on '-'.
  const NormalizedString s("The-final--countdown");
  const CharPredicatePattern dash([](char32_t c) { return c == U'-'; });
  auto texts = [&](SplitBehavior b) {
    std::vector<std::string> out;
    for (const auto& piece : SplitNormalized(s, dash, b)) out.push_back(piece.get());
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(texts(SplitBehavior::kRemoved), (V{"The", "final", "countdown"}));
  EXPECT_EQ(texts(SplitBehavior::kIsolated), (V{"The", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(texts(SplitBehavior::kMergedWithPrevious), (V{"The-", "final-", "-", "countdown"}));
  EXPECT_EQ(texts(SplitBehavior::kMergedWithNext), (V{"The", "-final", "-", "-countdown"}));
  EXPECT_EQ(texts(SplitBehavior::kContiguous), (V{"The", "-", "final", "--", "countdown"}));
}

}  // namespace
}  // namespace sinkscope::tokenizer
