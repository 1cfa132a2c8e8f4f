// Post-processor ByteLevel (tokenizers/src/pre_tokenizers/byte_level.rs, process_offsets):
// with trim_offsets, token offsets leave out the spaces at the token's ends.
#include <nlohmann/json.hpp>

#include "models/tokenizer/post_processors/special_internal.h"

namespace sinkscope::tokenizer {
namespace {

class ByteLevelPostProcessor : public PostProcessor {
 public:
  ByteLevelPostProcessor(bool trim_offsets, bool add_prefix_space)
      : trim_offsets_(trim_offsets), add_prefix_space_(add_prefix_space) {}
  Status Process(RawEncoding* encoding, bool) const override {
    if (trim_offsets_) TrimByteLevelOffsets(encoding, add_prefix_space_);
    return OkStatus();
  }

 private:
  bool trim_offsets_;
  bool add_prefix_space_;
};

bool IsSpaceLike(char32_t c) {
  return c == 0x120 /* GPT-2 'Ġ' for ' ' */ || IsWhitespace(c);
}

}  // namespace

void TrimByteLevelOffsets(RawEncoding* encoding, bool add_prefix_space) {
  for (size_t i = 0; i < encoding->tokens.size(); ++i) {
    const std::u32string chars = ToCodePoints(encoding->tokens[i]);
    size_t leading = 0, trailing = 0;
    while (leading < chars.size() && IsSpaceLike(chars[leading])) ++leading;
    while (trailing < chars.size() && IsSpaceLike(chars[chars.size() - 1 - trailing])) ++trailing;
    auto& [begin, end] = encoding->offsets[i];
    if (leading > 0) {
      const bool is_first = i == 0 || begin == 0;
      if (is_first && add_prefix_space && leading == 1) leading = 0;
      begin = std::min(begin + leading, end);
    }
    if (trailing > 0 && end >= trailing) end = std::max(end - trailing, begin);
  }
}

StatusOr<PostProcessorPtr> MakeByteLevelPostProcessor(const json& j) {
  ASSIGN_OR_RETURN(const bool trim_offsets, GetBool(j, "trim_offsets", true));
  ASSIGN_OR_RETURN(const bool add_prefix_space, GetBool(j, "add_prefix_space", true));
  return PostProcessorPtr(std::make_unique<ByteLevelPostProcessor>(trim_offsets, add_prefix_space));
}

}  // namespace sinkscope::tokenizer
