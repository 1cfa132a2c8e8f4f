// Decoder Strip (tokenizers/src/decoders/strip.rs): removes up to `start` leading and `stop`
// trailing copies of `content` from each token.
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class StripDecoder : public Decoder {
 public:
  StripDecoder(char32_t content, size_t start, size_t stop)
      : content_(content), start_(start), stop_(stop) {}
  Status DecodeChain(std::vector<std::string>* tokens) const override {
    for (std::string& t : *tokens) {
      const std::u32string chars = ToCodePoints(t);
      size_t start_cut = 0;
      for (size_t i = 0; i < start_ && i < chars.size(); ++i) {
        if (chars[i] != content_) break;
        start_cut = i + 1;
      }
      size_t stop_cut = chars.size();
      for (size_t i = 0; i < stop_ && i < chars.size(); ++i) {
        const size_t index = chars.size() - i - 1;
        if (chars[index] != content_) break;
        stop_cut = index;
      }
      std::string out;
      for (size_t i = start_cut; i < stop_cut; ++i) AppendUtf8(chars[i], &out);
      t = std::move(out);
    }
    return OkStatus();
  }

 private:
  char32_t content_;
  size_t start_, stop_;
};

}  // namespace

StatusOr<DecoderPtr> MakeStripDecoder(const json& j) {
  ASSIGN_OR_RETURN(const std::string content, RequireString(j, "content"));
  const std::u32string chars = ToCodePoints(content);
  if (chars.size() != 1) return InvalidArgumentError("'content' must be one character");
  ASSIGN_OR_RETURN(const int64_t start, GetInt(j, "start", 0));
  ASSIGN_OR_RETURN(const int64_t stop, GetInt(j, "stop", 0));
  if (start < 0 || stop < 0) return InvalidArgumentError("'start' and 'stop' must be >= 0");
  return DecoderPtr(std::make_unique<StripDecoder>(chars[0], static_cast<size_t>(start),
                                                   static_cast<size_t>(stop)));
}

}  // namespace sinkscope::tokenizer
