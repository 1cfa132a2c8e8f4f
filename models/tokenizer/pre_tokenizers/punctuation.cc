// Pre-tokenizer Punctuation (tokenizers/src/pre_tokenizers/punctuation.rs): splits on ASCII
// punctuation and Unicode P* with a configurable behavior (default Isolated).
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class PunctuationPreTokenizer : public PreTokenizer {
 public:
  explicit PunctuationPreTokenizer(SplitBehavior behavior) : behavior_(behavior) {}
  void PreTokenize(PreTokenizedString* s) const override { s->SplitBy(punct_, behavior_); }

 private:
  SplitBehavior behavior_;
  CharPredicatePattern punct_{IsBertPunctuation};
};

}  // namespace

StatusOr<PreTokenizerPtr> MakePunctuationPreTokenizer(const json& j) {
  ASSIGN_OR_RETURN(const std::string name, GetString(j, "behavior", "Isolated"));
  ASSIGN_OR_RETURN(const SplitBehavior behavior, ParseSplitBehavior(name));
  return PreTokenizerPtr(std::make_unique<PunctuationPreTokenizer>(behavior));
}

}  // namespace sinkscope::tokenizer
