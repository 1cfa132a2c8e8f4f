// Pre-tokenizer BertPreTokenizer (tokenizers/src/pre_tokenizers/bert.rs): split on
// White_Space (removed), then isolate every punctuation character (ASCII punctuation or P*).
#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class BertPreTokenizer : public PreTokenizer {
 public:
  void PreTokenize(PreTokenizedString* s) const override {
    s->SplitBy(whitespace_, SplitBehavior::kRemoved);
    s->SplitBy(punctuation_, SplitBehavior::kIsolated);
  }

 private:
  CharPredicatePattern whitespace_{IsWhitespace};
  CharPredicatePattern punctuation_{IsBertPunctuation};
};

}  // namespace

StatusOr<PreTokenizerPtr> MakeBertPreTokenizer(const json&) {
  return PreTokenizerPtr(std::make_unique<BertPreTokenizer>());
}

}  // namespace sinkscope::tokenizer
