// Pre-tokenizer Metaspace (tokenizers/src/pre_tokenizers/metaspace.rs): spaces become the
// replacement character (default U+2581); prepend_scheme "always" prepends it to every split
// not already starting with it, "first" only to the split at the start of the original text,
// "never" never; then (split=true) each replacement starts a new piece (MergedWithNext).
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"
#include "models/tokenizer/metaspace_internal.h"

namespace sinkscope::tokenizer {
namespace {

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  explicit MetaspacePreTokenizer(MetaspaceConfig config)
      : config_(std::move(config)),
        space_(" "),
        replacement_char_([c = config_.replacement_char](char32_t x) { return x == c; }) {}

  void PreTokenize(PreTokenizedString* s) const override {
    s->Split([&](NormalizedString n) {
      std::vector<std::pair<size_t, size_t>> matches;
      for (const auto& piece : space_.FindMatches(n.get())) {
        if (piece.is_match) matches.emplace_back(piece.begin, piece.end);
      }
      n.ReplaceRanges(matches, config_.replacement);
      const bool starts = n.get().compare(0, config_.replacement.size(), config_.replacement) == 0;
      if (config_.prepend_scheme == PrependScheme::kAlways && !starts) {
        n.Prepend(config_.replacement);
      } else if (config_.prepend_scheme == PrependScheme::kFirst && !starts &&
                 n.original_shift() == 0) {
        n.Prepend(config_.replacement);
      }
      if (!config_.split) {
        std::vector<PreTokenSplit> one;
        one.push_back({std::move(n), false, {}});
        return one;
      }
      return ToSplits(SplitNormalized(n, replacement_char_, SplitBehavior::kMergedWithNext));
    });
  }

 private:
  MetaspaceConfig config_;
  LiteralPattern space_;
  CharPredicatePattern replacement_char_;
};

}  // namespace

StatusOr<MetaspaceConfig> ParseMetaspaceConfig(const json& j) {
  MetaspaceConfig config;
  ASSIGN_OR_RETURN(config.replacement, GetString(j, "replacement", "\xE2\x96\x81"));
  const std::u32string chars = ToCodePoints(config.replacement);
  if (chars.size() != 1) {
    return InvalidArgumentError("'replacement' must be one character, got '{}'",
                                config.replacement);
  }
  config.replacement_char = chars[0];
  ASSIGN_OR_RETURN(auto scheme, GetOptionalString(j, "prepend_scheme"));
  if (scheme) {
    if (*scheme == "always") {
      config.prepend_scheme = PrependScheme::kAlways;
    } else if (*scheme == "first") {
      config.prepend_scheme = PrependScheme::kFirst;
    } else if (*scheme == "never") {
      config.prepend_scheme = PrependScheme::kNever;
    } else {
      return InvalidArgumentError("unknown prepend_scheme '{}'", *scheme);
    }
  } else {
    // Files from before prepend_scheme carry add_prefix_space.
    ASSIGN_OR_RETURN(const bool add_prefix_space, GetBool(j, "add_prefix_space", true));
    config.prepend_scheme = add_prefix_space ? PrependScheme::kAlways : PrependScheme::kNever;
  }
  ASSIGN_OR_RETURN(config.split, GetBool(j, "split", true));
  return config;
}

StatusOr<PreTokenizerPtr> MakeMetaspacePreTokenizer(const json& j) {
  ASSIGN_OR_RETURN(MetaspaceConfig config, ParseMetaspaceConfig(j));
  return PreTokenizerPtr(std::make_unique<MetaspacePreTokenizer>(std::move(config)));
}

}  // namespace sinkscope::tokenizer
