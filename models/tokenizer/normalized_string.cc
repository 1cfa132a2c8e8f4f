// NormalizedString, split patterns and PreTokenizedString (see normalized_string_internal.h).
#include <algorithm>

#include "models/tokenizer/normalized_string_internal.h"

namespace sinkscope::tokenizer {

NormalizedString::NormalizedString(std::string_view original)
    : normalized_(original), original_len_(original.size()) {
  alignments_.resize(original.size());
  for (size_t i = 0; i < original.size();) {
    const size_t n =
        std::min(Utf8Len(static_cast<unsigned char>(original[i])), original.size() - i);
    const Span span{static_cast<uint32_t>(i), static_cast<uint32_t>(i + n)};
    for (size_t k = 0; k < n; ++k) alignments_[i + k] = span;
    i += n;
  }
}

void NormalizedString::Transform(const std::vector<CharChange>& dest, size_t initial_offset) {
  TransformRange(0, normalized_.size(), dest, initial_offset);
}

void NormalizedString::TransformRange(size_t begin, size_t end, const std::vector<CharChange>& dest,
                                      size_t initial_offset) {
  // Byte lengths of the characters being replaced, consumed in order.
  std::vector<uint8_t> lens;
  lens.reserve(end - begin);
  for (size_t i = begin; i < end;) {
    const size_t n = std::min(Utf8Len(static_cast<unsigned char>(normalized_[i])), end - i);
    lens.push_back(static_cast<uint8_t>(n));
    i += n;
  }
  size_t next_char = 0;
  size_t offset = begin;
  for (; next_char < initial_offset && next_char < lens.size(); ++next_char) {
    offset += lens[next_char];
  }
  std::string text;
  text.reserve(dest.size());
  std::vector<Span> aligns;
  aligns.reserve(dest.size());
  for (const CharChange& d : dest) {
    Span align;
    if (d.change > 0) {
      if (offset >= 1 && offset - 1 < alignments_.size()) align = alignments_[offset - 1];
    } else if (offset < alignments_.size()) {
      align = alignments_[offset];
    } else if (!alignments_.empty()) {
      align = alignments_.back();  // Rust would index out of bounds here; stay in range.
    }
    if (d.change <= 0 && next_char < lens.size()) offset += lens[next_char++];
    if (d.change < 0) {
      for (int64_t k = 0; k < -d.change && next_char < lens.size(); ++k) {
        offset += lens[next_char++];
      }
    }
    const size_t before = text.size();
    AppendUtf8(d.c, &text);
    aligns.insert(aligns.end(), text.size() - before, align);
  }
  normalized_.replace(begin, end - begin, text);
  alignments_.erase(alignments_.begin() + static_cast<std::ptrdiff_t>(begin),
                    alignments_.begin() + static_cast<std::ptrdiff_t>(end));
  alignments_.insert(alignments_.begin() + static_cast<std::ptrdiff_t>(begin), aligns.begin(),
                     aligns.end());
}

std::optional<std::pair<size_t, size_t>> NormalizedString::ConvertNormalizedRange(
    size_t begin, size_t end) const {
  if (begin == end) return std::make_pair(begin, end);
  if (begin > end || end > alignments_.size()) return std::nullopt;
  return std::make_pair(static_cast<size_t>(alignments_[begin].begin),
                        static_cast<size_t>(alignments_[end - 1].end));
}

namespace {
bool IsCharBoundary(std::string_view s, size_t i) {
  return i == 0 || i >= s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
}
}  // namespace

std::optional<NormalizedString> NormalizedString::Slice(size_t begin, size_t end) const {
  if (begin > end || end > normalized_.size()) return std::nullopt;
  const auto r = ConvertNormalizedRange(begin, end);
  if (!r || r->first > r->second || r->second > original_len_) return std::nullopt;
  if (!IsCharBoundary(normalized_, begin) || !IsCharBoundary(normalized_, end)) {
    return std::nullopt;
  }
  NormalizedString out;
  out.normalized_ = normalized_.substr(begin, end - begin);
  out.alignments_.assign(alignments_.begin() + static_cast<std::ptrdiff_t>(begin),
                         alignments_.begin() + static_cast<std::ptrdiff_t>(end));
  const auto shift = static_cast<uint32_t>(r->first);
  for (Span& a : out.alignments_) {
    a.begin = a.begin >= shift ? a.begin - shift : 0;
    a.end = a.end >= shift ? a.end - shift : 0;
  }
  out.original_len_ = r->second - r->first;
  out.original_shift_ = original_shift_ + r->first;
  return out;
}

void NormalizedString::Prepend(std::string_view s) {
  if (normalized_.empty() || s.empty()) return;
  size_t n;
  const char32_t next = DecodeUtf8(normalized_, 0, &n);
  std::vector<CharChange> dest;
  bool first = true;
  for (const char32_t c : ToCodePoints(s)) {
    dest.push_back({c, first ? 0 : 1});
    first = false;
  }
  dest.push_back({next, 1});
  TransformRange(0, n, dest, 0);
}

void NormalizedString::Lowercase() {
  bool ascii = true;
  for (const char ch : normalized_) {
    if (static_cast<unsigned char>(ch) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {  // one byte for one byte: the alignments stay as they are
    for (char& ch : normalized_) {
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
    }
    return;
  }
  std::vector<CharChange> dest;
  dest.reserve(normalized_.size());
  std::u32string lower;
  for (size_t i = 0; i < normalized_.size();) {
    size_t n;
    const char32_t c = DecodeUtf8(normalized_, i, &n);
    i += n;
    lower.clear();
    ToLowercase(c, &lower);
    for (size_t k = 0; k < lower.size(); ++k) dest.push_back({lower[k], k > 0 ? 1 : 0});
  }
  Transform(dest, 0);
}

void NormalizedString::Filter(const std::function<bool(char32_t)>& keep) {
  int64_t removed = 0;
  size_t removed_start = 0;
  std::vector<CharChange> dest;
  dest.reserve(normalized_.size());
  bool have_last = false;
  char32_t last = 0;
  bool any_removed = false;
  for (size_t i = 0; i < normalized_.size();) {
    size_t n;
    const char32_t c = DecodeUtf8(normalized_, i, &n);
    i += n;
    if (keep(c)) {
      if (have_last) {
        dest.push_back({last, -removed});
      } else {
        removed_start = static_cast<size_t>(removed);
      }
      last = c;
      have_last = true;
      removed = 0;
    } else {
      ++removed;
      any_removed = true;
    }
  }
  if (!any_removed) return;
  if (have_last) dest.push_back({last, -removed});
  Transform(dest, removed_start);
}

void NormalizedString::MapChars(const std::function<char32_t(char32_t)>& f) {
  std::vector<CharChange> dest;
  dest.reserve(normalized_.size());
  bool changed = false;
  for (size_t i = 0; i < normalized_.size();) {
    size_t n;
    const char32_t c = DecodeUtf8(normalized_, i, &n);
    i += n;
    const char32_t m = f(c);
    changed |= m != c || n > 1;
    dest.push_back({m, 0});
  }
  if (changed) Transform(dest, 0);
}

void NormalizedString::Strip(bool left, bool right) {
  const std::u32string chars = ToCodePoints(normalized_);
  size_t leading = 0, trailing = 0;
  if (left) {
    while (leading < chars.size() && IsWhitespace(chars[leading])) ++leading;
  }
  if (right) {
    while (trailing < chars.size() && IsWhitespace(chars[chars.size() - 1 - trailing])) {
      ++trailing;
    }
  }
  if (leading == 0 && trailing == 0) return;
  std::vector<CharChange> dest;
  for (size_t i = leading; i + trailing < chars.size(); ++i) dest.push_back({chars[i], 0});
  Transform(dest, leading);
}

void NormalizedString::Normalize(NormalizationForm form) {
  bool ascii = true;
  for (const char ch : normalized_) {
    if (static_cast<unsigned char>(ch) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return;
  Transform(NormalizeWithChanges(normalized_, form), 0);
}

void NormalizedString::ReplaceRanges(const std::vector<std::pair<size_t, size_t>>& matches,
                                     std::string_view content) {
  if (matches.empty()) return;
  std::string text;
  text.reserve(normalized_.size());
  std::vector<Span> aligns;
  aligns.reserve(alignments_.size());
  size_t last_end = 0;
  std::string encoded_content(content);
  for (const auto& [start, end] : matches) {
    text.append(normalized_, last_end, start - last_end);
    aligns.insert(aligns.end(), alignments_.begin() + static_cast<std::ptrdiff_t>(last_end),
                  alignments_.begin() + static_cast<std::ptrdiff_t>(start));
    // Every character of `content` is "inserted" after the removed match, so it takes the
    // alignment of the match's last byte.
    const Span align = end >= 1 ? alignments_[end - 1] : Span{};
    text += encoded_content;
    aligns.insert(aligns.end(), encoded_content.size(), align);
    last_end = end;
  }
  text.append(normalized_, last_end, std::string::npos);
  aligns.insert(aligns.end(), alignments_.begin() + static_cast<std::ptrdiff_t>(last_end),
                alignments_.end());
  normalized_ = std::move(text);
  alignments_ = std::move(aligns);
}

// ---------------------------------------------------------------------------------------------
// Patterns

std::vector<PatternPiece> CharPredicatePattern::FindMatches(std::string_view inside) const {
  if (inside.empty()) return {{0, 0, false}};
  std::vector<PatternPiece> out;
  size_t last_offset = 0;
  size_t i = 0;
  while (i < inside.size()) {
    size_t n;
    const char32_t c = DecodeUtf8(inside, i, &n);
    if (pred_(c)) {
      if (last_offset < i) out.push_back({last_offset, i, false});
      out.push_back({i, i + n, true});
      last_offset = i + n;
    }
    i += n;
  }
  if (i > last_offset) out.push_back({last_offset, i, false});
  return out;
}

std::vector<PatternPiece> LiteralPattern::FindMatches(std::string_view inside) const {
  if (inside.empty()) return {{0, 0, false}};
  if (literal_.empty()) return {{0, inside.size(), false}};
  std::vector<PatternPiece> out;
  size_t prev = 0;
  size_t pos = inside.find(literal_);
  while (pos != std::string_view::npos) {
    if (prev != pos) out.push_back({prev, pos, false});
    out.push_back({pos, pos + literal_.size(), true});
    prev = pos + literal_.size();
    pos = inside.find(literal_, prev);
  }
  if (prev != inside.size()) out.push_back({prev, inside.size(), false});
  return out;
}

std::vector<PatternPiece> InvertedPattern::FindMatches(std::string_view inside) const {
  auto pieces = inner_->FindMatches(inside);
  for (auto& p : pieces) p.is_match = !p.is_match;
  return pieces;
}

StatusOr<SplitBehavior> ParseSplitBehavior(std::string_view name) {
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  return InvalidArgumentError("unknown split behavior '{}'", name);
}

std::vector<NormalizedString> SplitNormalized(const NormalizedString& s, const Pattern& pattern,
                                              SplitBehavior behavior) {
  const std::vector<PatternPiece> matches = pattern.FindMatches(s.get());
  struct Keep {
    size_t begin, end;
    bool remove;
  };
  std::vector<Keep> pieces;
  pieces.reserve(matches.size());
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const auto& m : matches) pieces.push_back({m.begin, m.end, false});
      break;
    case SplitBehavior::kRemoved:
      for (const auto& m : matches) pieces.push_back({m.begin, m.end, m.is_match});
      break;
    case SplitBehavior::kContiguous: {
      bool previous_match = false;
      for (const auto& m : matches) {
        if (m.is_match == previous_match && !pieces.empty()) {
          pieces.back().end = m.end;
        } else {
          pieces.push_back({m.begin, m.end, false});
        }
        previous_match = m.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const auto& m : matches) {
        if (m.is_match && !previous_match && !pieces.empty()) {
          pieces.back().end = m.end;
        } else {
          pieces.push_back({m.begin, m.end, false});
        }
        previous_match = m.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous_match = false;
      for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
        if (it->is_match && !previous_match && !pieces.empty()) {
          pieces.back().begin = it->begin;
        } else {
          pieces.push_back({it->begin, it->end, false});
        }
        previous_match = it->is_match;
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
    }
  }
  std::vector<NormalizedString> out;
  out.reserve(pieces.size());
  for (const auto& p : pieces) {
    if (p.remove) continue;
    if (auto slice = s.Slice(p.begin, p.end)) out.push_back(std::move(*slice));
  }
  return out;
}

std::vector<PreTokenSplit> ToSplits(std::vector<NormalizedString> pieces) {
  std::vector<PreTokenSplit> out;
  out.reserve(pieces.size());
  for (auto& p : pieces) out.push_back({std::move(p), false, {}});
  return out;
}

void PreTokenizedString::SplitBy(const Pattern& pattern, SplitBehavior behavior) {
  Split([&](NormalizedString s) { return ToSplits(SplitNormalized(s, pattern, behavior)); });
}

}  // namespace sinkscope::tokenizer
