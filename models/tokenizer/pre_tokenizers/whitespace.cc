// Pre-tokenizer Whitespace (tokenizers/src/pre_tokenizers/whitespace.rs): the pieces matched
// by Rust regex `\w+|[^\w\s]+`, everything else removed. Implemented as a scan over character
// classes with Rust regex's Unicode `\w` and `\s` (not Oniguruma's, whose `\w` differs).
#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class WordOrSymbolRunPattern : public Pattern {
 public:
  // Matches of `\w+|[^\w\s]+` as pieces, the gaps as non-matches.
  std::vector<PatternPiece> FindMatches(std::string_view inside) const override {
    if (inside.empty()) return {{0, 0, false}};
    std::vector<PatternPiece> out;
    size_t prev = 0;
    size_t i = 0;
    while (i < inside.size()) {
      size_t n;
      const char32_t c = DecodeUtf8(inside, i, &n);
      const int klass = IsWordChar(c) ? 1 : (IsWhitespace(c) ? 0 : 2);
      if (klass == 0) {
        i += n;
        continue;
      }
      size_t j = i + n;
      while (j < inside.size()) {
        size_t m;
        const char32_t d = DecodeUtf8(inside, j, &m);
        const int k2 = IsWordChar(d) ? 1 : (IsWhitespace(d) ? 0 : 2);
        if (k2 != klass) break;
        j += m;
      }
      if (prev != i) out.push_back({prev, i, false});
      out.push_back({i, j, true});
      prev = j;
      i = j;
    }
    if (prev != inside.size()) out.push_back({prev, inside.size(), false});
    return out;
  }
};

class WhitespacePreTokenizer : public PreTokenizer {
 public:
  void PreTokenize(PreTokenizedString* s) const override {
    s->SplitBy(inverted_, SplitBehavior::kRemoved);
  }

 private:
  WordOrSymbolRunPattern runs_;
  InvertedPattern inverted_{&runs_};
};

}  // namespace

StatusOr<PreTokenizerPtr> MakeWhitespacePreTokenizer(const json&) {
  return PreTokenizerPtr(std::make_unique<WhitespacePreTokenizer>());
}

}  // namespace sinkscope::tokenizer
