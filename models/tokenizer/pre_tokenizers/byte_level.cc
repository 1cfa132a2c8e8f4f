// Pre-tokenizer ByteLevel (tokenizers/src/pre_tokenizers/byte_level.rs): optionally prepends a
// space, optionally splits with GPT-2's regex (Isolated), then maps every byte to its GPT-2
// character; the characters of one input character all align with it.
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"
#include "models/tokenizer/regex_internal.h"

namespace sinkscope::tokenizer {
namespace {

constexpr std::string_view kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::unique_ptr<RegexPattern> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {}

  void PreTokenize(PreTokenizedString* s) const override {
    s->Split([&](NormalizedString n) {
      if (add_prefix_space_ && (n.get().empty() || n.get()[0] != ' ')) n.Prepend(" ");
      if (regex_ == nullptr) {
        std::vector<PreTokenSplit> one;
        one.push_back({std::move(n), false, {}});
        return one;
      }
      return ToSplits(SplitNormalized(n, *regex_, SplitBehavior::kIsolated));
    });
    for (auto& split : s->splits()) {
      if (!split.has_tokens) ApplyByteLevelMapping(&split.normalized);
    }
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<RegexPattern> regex_;  // null when use_regex is false
};

}  // namespace

StatusOr<PreTokenizerPtr> MakeByteLevelPreTokenizer(const json& j) {
  ASSIGN_OR_RETURN(const bool add_prefix_space, GetBool(j, "add_prefix_space", true));
  ASSIGN_OR_RETURN(const bool use_regex, GetBool(j, "use_regex", true));
  std::unique_ptr<RegexPattern> regex;
  if (use_regex) {
    ASSIGN_OR_RETURN(regex, RegexPattern::Compile(kGpt2Regex));
  }
  return PreTokenizerPtr(
      std::make_unique<ByteLevelPreTokenizer>(add_prefix_space, std::move(regex)));
}

}  // namespace sinkscope::tokenizer
