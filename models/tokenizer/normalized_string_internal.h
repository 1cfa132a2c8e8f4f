// NormalizedString, PreTokenizedString and split patterns: the offset bookkeeping of the Rust
// `tokenizers` crate (tokenizer/normalizer.rs, pre_tokenizer.rs, pattern.rs at v0.22.1).
//
// A NormalizedString keeps, for every byte of the normalized text, the byte range of the
// original text it came from ("alignments"). Every normalizer and pre-tokenizer edits the text
// through Transform(), which assigns alignments exactly like the Rust transform_range: a
// character that replaces an input character takes that character's alignment, an inserted
// character takes the alignment of the byte before it. Token offsets are then mapped back
// through the alignments, which is how HF's offsets come about (quirks included).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "models/tokenizer/unicode_internal.h"

namespace sinkscope::tokenizer {

/// [begin, end) byte range.
struct Span {
  uint32_t begin = 0;
  uint32_t end = 0;
  bool operator==(const Span&) const = default;
};

class NormalizedString {
 public:
  NormalizedString() = default;
  /// Identity normalization of `original` (valid UTF-8).
  explicit NormalizedString(std::string_view original);

  const std::string& get() const { return normalized_; }
  size_t size() const { return normalized_.size(); }
  bool empty() const { return normalized_.empty(); }
  size_t original_len() const { return original_len_; }
  size_t original_shift() const { return original_shift_; }
  const std::vector<Span>& alignments() const { return alignments_; }

  /// Rust transform_range over the whole string: `dest` is the new text as (char, change)
  /// pairs; `initial_offset` input characters are removed before the first one.
  void Transform(const std::vector<CharChange>& dest, size_t initial_offset);
  /// Same on the normalized byte range [begin, end).
  void TransformRange(size_t begin, size_t end, const std::vector<CharChange>& dest,
                      size_t initial_offset);

  /// Maps a normalized byte range to the original (relative to this string's original), or
  /// nullopt where the Rust code gives None.
  std::optional<std::pair<size_t, size_t>> ConvertNormalizedRange(size_t begin, size_t end) const;

  /// The sub-string for normalized bytes [begin, end), with its own original span; nullopt
  /// when the range is not on character boundaries.
  std::optional<NormalizedString> Slice(size_t begin, size_t end) const;

  // Edits with Rust semantics.
  void Prepend(std::string_view s);
  void Lowercase();
  void Filter(const std::function<bool(char32_t)>& keep);
  void MapChars(const std::function<char32_t(char32_t)>& f);
  void Strip(bool left, bool right);
  void Normalize(NormalizationForm form);
  /// Replaces the matched ranges ([begin, end) pairs, sorted, disjoint) by `content`.
  void ReplaceRanges(const std::vector<std::pair<size_t, size_t>>& matches,
                     std::string_view content);

 private:
  std::string normalized_;
  std::vector<Span> alignments_;  // one per byte of normalized_
  size_t original_len_ = 0;
  size_t original_shift_ = 0;
};

/// One (begin, end, is_match) piece of a pattern search; the pieces cover the input.
struct PatternPiece {
  size_t begin;
  size_t end;
  bool is_match;
};

/// A split pattern: what Rust's Pattern trait gives for &str, char predicates and regexes.
class Pattern {
 public:
  virtual ~Pattern() = default;
  virtual std::vector<PatternPiece> FindMatches(std::string_view inside) const = 0;
};

/// Every character with pred(c) is a match of its own.
class CharPredicatePattern : public Pattern {
 public:
  explicit CharPredicatePattern(std::function<bool(char32_t)> pred) : pred_(std::move(pred)) {}
  std::vector<PatternPiece> FindMatches(std::string_view inside) const override;

 private:
  std::function<bool(char32_t)> pred_;
};

/// Non-overlapping occurrences of a literal, left to right (an empty literal matches nothing).
class LiteralPattern : public Pattern {
 public:
  explicit LiteralPattern(std::string literal) : literal_(std::move(literal)) {}
  std::vector<PatternPiece> FindMatches(std::string_view inside) const override;

 private:
  std::string literal_;
};

/// Flips is_match of another pattern (Rust Invert).
class InvertedPattern : public Pattern {
 public:
  explicit InvertedPattern(const Pattern* inner) : inner_(inner) {}
  std::vector<PatternPiece> FindMatches(std::string_view inside) const override;

 private:
  const Pattern* inner_;
};

/// SplitDelimiterBehavior.
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

StatusOr<SplitBehavior> ParseSplitBehavior(std::string_view name);

/// NormalizedString::split: the pieces to keep, as sub-strings.
std::vector<NormalizedString> SplitNormalized(const NormalizedString& s, const Pattern& pattern,
                                              SplitBehavior behavior);

/// A model token with byte offsets into the normalized split it came from.
struct Token {
  int32_t id;
  std::string value;
  size_t begin;
  size_t end;
};

struct PreTokenSplit {
  NormalizedString normalized;
  bool has_tokens = false;
  std::vector<Token> tokens;
};

/// PreTokenizedString: the splits of one input text.
class PreTokenizedString {
 public:
  explicit PreTokenizedString(std::string_view text) {
    splits_.push_back({NormalizedString(text), false, {}});
  }
  explicit PreTokenizedString(std::vector<PreTokenSplit> splits) : splits_(std::move(splits)) {}

  /// Replaces each split without tokens by the non-empty results of f.
  template <typename F>
  void Split(F&& f) {
    std::vector<PreTokenSplit> next;
    next.reserve(splits_.size());
    for (auto& split : splits_) {
      if (split.has_tokens) {
        next.push_back(std::move(split));
        continue;
      }
      for (auto& piece : f(std::move(split.normalized))) {
        if (!piece.normalized.empty()) next.push_back(std::move(piece));
      }
    }
    splits_ = std::move(next);
  }
  /// Splits by a pattern (the common case of Split).
  void SplitBy(const Pattern& pattern, SplitBehavior behavior);

  std::vector<PreTokenSplit>& splits() { return splits_; }
  const std::vector<PreTokenSplit>& splits() const { return splits_; }

 private:
  std::vector<PreTokenSplit> splits_;
};

/// Wraps the results of a per-split function into PreTokenSplits.
std::vector<PreTokenSplit> ToSplits(std::vector<NormalizedString> pieces);

}  // namespace sinkscope::tokenizer
