// Pre-tokenizer CharDelimiterSplit (tokenizers/src/pre_tokenizers/delimiter.rs): splits on one
// delimiter character, which is removed.
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class CharDelimiterSplitPreTokenizer : public PreTokenizer {
 public:
  explicit CharDelimiterSplitPreTokenizer(char32_t delimiter)
      : pattern_([delimiter](char32_t c) { return c == delimiter; }) {}
  void PreTokenize(PreTokenizedString* s) const override {
    s->SplitBy(pattern_, SplitBehavior::kRemoved);
  }

 private:
  CharPredicatePattern pattern_;
};

}  // namespace

StatusOr<PreTokenizerPtr> MakeCharDelimiterSplitPreTokenizer(const json& j) {
  ASSIGN_OR_RETURN(const std::string delimiter, RequireString(j, "delimiter"));
  const std::u32string chars = ToCodePoints(delimiter);
  if (chars.size() != 1) return InvalidArgumentError("'delimiter' must be one character");
  return PreTokenizerPtr(std::make_unique<CharDelimiterSplitPreTokenizer>(chars[0]));
}

}  // namespace sinkscope::tokenizer
