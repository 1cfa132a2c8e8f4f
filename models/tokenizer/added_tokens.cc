// Added-token matching (added_tokens_internal.h).
#include <algorithm>

#include "models/tokenizer/added_tokens_internal.h"

namespace sinkscope::tokenizer {

void TokenMatcher::Add(std::string_view pattern, size_t index) {
  if (pattern.empty()) return;  // aho-corasick never reports an empty pattern's match here
  uint32_t node = 0;
  for (const char ch : pattern) {
    const auto c = static_cast<unsigned char>(ch);
    auto& children = nodes_[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), c,
                               [](const auto& e, unsigned char v) { return e.first < v; });
    if (it != children.end() && it->first == c) {
      node = it->second;
    } else {
      const auto child = static_cast<uint32_t>(nodes_.size());
      children.insert(it, {c, child});
      nodes_.emplace_back();
      node = child;
    }
  }
  // With duplicate contents the first pattern wins, as in aho-corasick.
  if (nodes_[node].pattern < 0) nodes_[node].pattern = static_cast<int64_t>(index);
}

std::pair<size_t, size_t> TokenMatcher::LongestAt(std::string_view text, size_t pos) const {
  std::pair<size_t, size_t> best{0, 0};
  uint32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const auto& children = nodes_[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), c,
                               [](const auto& e, unsigned char v) { return e.first < v; });
    if (it == children.end() || it->first != c) break;
    node = it->second;
    if (nodes_[node].pattern >= 0) best = {i + 1 - pos, static_cast<size_t>(nodes_[node].pattern)};
  }
  return best;
}

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer)
    : tokens_(std::move(tokens)) {
  // HF lists special tokens first, then the others; each group keeps file order.
  std::vector<size_t> order;
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (tokens_[i].special) order.push_back(i);
  }
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (!tokens_[i].special) order.push_back(i);
  }
  for (const size_t i : order) {
    const AddedToken& t = tokens_[i];
    if (t.normalized) {
      NormalizedString content(t.content);
      if (normalizer != nullptr) normalizer->Normalize(&content);
      normalized_matcher_.Add(content.get(), normalized_tokens_.size());
      normalized_tokens_.push_back(i);
    } else {
      raw_matcher_.Add(t.content, raw_tokens_.size());
      raw_tokens_.push_back(i);
    }
  }
}

namespace {

bool EndsWithWord(std::string_view s) {
  if (s.empty()) return false;
  size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  size_t n;
  return IsWordChar(DecodeUtf8(s, i, &n));
}

bool StartsWithWord(std::string_view s) {
  if (s.empty()) return false;
  size_t n;
  return IsWordChar(DecodeUtf8(s, 0, &n));
}

// Start of the trailing run of whitespace of s (s.size() if none).
size_t LeftmostSpaceAtEnd(std::string_view s) {
  size_t i = s.size();
  while (i > 0) {
    size_t j = i - 1;
    while (j > 0 && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) --j;
    size_t n;
    if (!IsWhitespace(DecodeUtf8(s, j, &n))) break;
    i = j;
  }
  return i;
}

// End of the leading run of whitespace of s.
size_t RightmostSpaceAtStart(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t n;
    if (!IsWhitespace(DecodeUtf8(s, i, &n))) break;
    i += n;
  }
  return i;
}

}  // namespace

std::vector<AddedVocabulary::Match> AddedVocabulary::FindMatches(
    std::string_view s, const TokenMatcher& matcher,
    const std::vector<size_t>& pattern_tokens) const {
  if (s.empty()) return {{false, 0, 0, 0}};
  std::vector<Match> out;
  size_t start_offset = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    const auto [len, pattern] = matcher.LongestAt(s, pos);
    if (len == 0) {
      ++pos;
      continue;
    }
    size_t start = pos, stop = pos + len;
    pos = stop;  // the automaton resumes after the raw match, not after stripped spaces
    const size_t token = pattern_tokens[pattern];
    const AddedToken& t = tokens_[token];
    if (t.single_word) {
      const bool start_space = start == 0 || !EndsWithWord(s.substr(0, start));
      const bool stop_space = stop == s.size() || !StartsWithWord(s.substr(stop));
      if (!start_space || !stop_space) continue;
    }
    if (t.lstrip) start = std::max(LeftmostSpaceAtEnd(s.substr(0, start)), start_offset);
    if (t.rstrip) stop += RightmostSpaceAtStart(s.substr(stop));
    if (start_offset < start) out.push_back({false, 0, start_offset, start});
    out.push_back({true, token, start, stop});
    start_offset = stop;
  }
  if (start_offset != s.size()) out.push_back({false, 0, start_offset, s.size()});
  return out;
}

std::vector<PreTokenSplit> AddedVocabulary::SplitWithTokens(
    NormalizedString s, const TokenMatcher& matcher,
    const std::vector<size_t>& pattern_tokens) const {
  std::vector<PreTokenSplit> out;
  if (matcher.empty()) {
    out.push_back({std::move(s), false, {}});
    return out;
  }
  for (const Match& m : FindMatches(s.get(), matcher, pattern_tokens)) {
    auto slice = s.Slice(m.begin, m.end);
    if (!slice) continue;
    PreTokenSplit split{std::move(*slice), false, {}};
    if (m.is_token) {
      split.has_tokens = true;
      const std::string& value = split.normalized.get();
      split.tokens.push_back({tokens_[m.token].id, value, 0, value.size()});
    }
    out.push_back(std::move(split));
  }
  return out;
}

PreTokenizedString AddedVocabulary::ExtractAndNormalize(std::string_view text,
                                                        const Normalizer* normalizer) const {
  PreTokenizedString pre(text);
  pre.Split(
      [&](NormalizedString s) { return SplitWithTokens(std::move(s), raw_matcher_, raw_tokens_); });
  pre.Split([&](NormalizedString s) {
    if (normalizer != nullptr) normalizer->Normalize(&s);
    return SplitWithTokens(std::move(s), normalized_matcher_, normalized_tokens_);
  });
  return pre;
}

const AddedToken* AddedVocabulary::FindById(int32_t id) const {
  for (const auto& t : tokens_) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

const AddedToken* AddedVocabulary::FindByContent(std::string_view content) const {
  for (const auto& t : tokens_) {
    if (t.content == content) return &t;
  }
  return nullptr;
}

}  // namespace sinkscope::tokenizer
