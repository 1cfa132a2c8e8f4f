// Added tokens (tokenizers/src/tokenizer/added_vocabulary.rs at v0.22.1): tokens matched in the
// text before the model runs. Those with normalized=false are found in the raw text first;
// then each remaining piece is normalized and the normalized=true tokens (themselves
// normalized) are found in it. Matching is leftmost-longest (HF's Aho-Corasick with
// MatchKind::LeftmostLongest); single_word, lstrip and rstrip adjust or reject matches like
// find_matches does.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

/// Byte trie for leftmost-longest matching of a fixed set of strings.
class TokenMatcher {
 public:
  void Add(std::string_view pattern, size_t index);
  /// The longest pattern starting at `pos`, as (length, index); length 0 if none.
  std::pair<size_t, size_t> LongestAt(std::string_view text, size_t pos) const;
  bool empty() const { return nodes_.size() <= 1; }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, uint32_t>> children;  // sorted by byte
    int64_t pattern = -1;
  };
  std::vector<Node> nodes_{Node{}};
};

class AddedVocabulary {
 public:
  /// Builds both matchers; normalized tokens are normalized with `normalizer` (may be null).
  AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer);

  /// The splits of `text` with added tokens already tokenized, the rest normalized.
  PreTokenizedString ExtractAndNormalize(std::string_view text, const Normalizer* normalizer) const;

  const std::vector<AddedToken>& tokens() const { return tokens_; }
  const AddedToken* FindById(int32_t id) const;
  const AddedToken* FindByContent(std::string_view content) const;

 private:
  struct Match {
    bool is_token;
    size_t token;  // index into tokens_
    size_t begin, end;
  };
  std::vector<Match> FindMatches(std::string_view s, const TokenMatcher& matcher,
                                 const std::vector<size_t>& pattern_tokens) const;
  std::vector<PreTokenSplit> SplitWithTokens(NormalizedString s, const TokenMatcher& matcher,
                                             const std::vector<size_t>& pattern_tokens) const;

  std::vector<AddedToken> tokens_;
  TokenMatcher raw_matcher_;
  std::vector<size_t> raw_tokens_;
  TokenMatcher normalized_matcher_;
  std::vector<size_t> normalized_tokens_;
};

}  // namespace sinkscope::tokenizer
