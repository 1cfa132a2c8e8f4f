// Pre-tokenizer WhitespaceSplit (tokenizers/src/pre_tokenizers/whitespace.rs): split on
// White_Space characters, which are removed.
#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class WhitespaceSplitPreTokenizer : public PreTokenizer {
 public:
  void PreTokenize(PreTokenizedString* s) const override {
    s->SplitBy(whitespace_, SplitBehavior::kRemoved);
  }

 private:
  CharPredicatePattern whitespace_{IsWhitespace};
};

}  // namespace

StatusOr<PreTokenizerPtr> MakeWhitespaceSplitPreTokenizer(const json&) {
  return PreTokenizerPtr(std::make_unique<WhitespaceSplitPreTokenizer>());
}

}  // namespace sinkscope::tokenizer
