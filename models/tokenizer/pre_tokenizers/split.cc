// Pre-tokenizer Split (tokenizers/src/pre_tokenizers/split.rs): a literal or an Oniguruma regex,
// a SplitDelimiterBehavior, and `invert` (the non-matching parts become the delimiters).
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(std::unique_ptr<Pattern> pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)),
        inverted_(pattern_.get()),
        behavior_(behavior),
        invert_(invert) {}

  void PreTokenize(PreTokenizedString* s) const override {
    if (invert_) {
      s->SplitBy(inverted_, behavior_);
    } else {
      s->SplitBy(*pattern_, behavior_);
    }
  }

 private:
  std::unique_ptr<Pattern> pattern_;
  InvertedPattern inverted_;
  SplitBehavior behavior_;
  bool invert_;
};

}  // namespace

StatusOr<PreTokenizerPtr> MakeSplitPreTokenizer(const json& j) {
  ASSIGN_OR_RETURN(const json* pattern_json, RequireMember(j, "pattern"));
  ASSIGN_OR_RETURN(auto pattern, MakePatternFromJson(*pattern_json));
  ASSIGN_OR_RETURN(const std::string behavior_name, RequireString(j, "behavior"));
  ASSIGN_OR_RETURN(const SplitBehavior behavior, ParseSplitBehavior(behavior_name));
  ASSIGN_OR_RETURN(const bool invert, GetBool(j, "invert", false));
  return PreTokenizerPtr(std::make_unique<SplitPreTokenizer>(std::move(pattern), behavior, invert));
}

}  // namespace sinkscope::tokenizer
