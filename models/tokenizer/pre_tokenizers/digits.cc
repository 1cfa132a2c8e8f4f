// Pre-tokenizer Digits (tokenizers/src/pre_tokenizers/digits.rs): numeric characters (Rust
// char::is_numeric: Nd, Nl, No) one by one (individual_digits) or in runs (Contiguous).
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class DigitsPreTokenizer : public PreTokenizer {
 public:
  explicit DigitsPreTokenizer(bool individual) : individual_(individual) {}
  void PreTokenize(PreTokenizedString* s) const override {
    s->SplitBy(numeric_, individual_ ? SplitBehavior::kIsolated : SplitBehavior::kContiguous);
  }

 private:
  bool individual_;
  CharPredicatePattern numeric_{IsNumeric};
};

}  // namespace

StatusOr<PreTokenizerPtr> MakeDigitsPreTokenizer(const json& j) {
  ASSIGN_OR_RETURN(const bool individual, GetBool(j, "individual_digits", false));
  return PreTokenizerPtr(std::make_unique<DigitsPreTokenizer>(individual));
}

}  // namespace sinkscope::tokenizer
