// Decoder CTC (tokenizers/src/decoders/ctc.rs): collapses repeated tokens, drops the pad token,
// and with cleanup applies the WordPiece cleanup and turns the word delimiter into a space;
// empty results are dropped.
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class CtcDecoder : public Decoder {
 public:
  CtcDecoder(std::string pad, std::string delimiter, bool cleanup)
      : pad_(std::move(pad)), delimiter_(std::move(delimiter)), cleanup_(cleanup) {}
  Status DecodeChain(std::vector<std::string>* tokens) const override {
    std::vector<std::string> out;
    for (size_t i = 0; i < tokens->size(); ++i) {
      if (i > 0 && (*tokens)[i] == (*tokens)[i - 1]) continue;
      std::string t = ReplaceAll((*tokens)[i], pad_, "");
      if (cleanup_) t = ReplaceAll(WordPieceCleanup(std::move(t)), delimiter_, " ");
      if (!t.empty()) out.push_back(std::move(t));
    }
    *tokens = std::move(out);
    return OkStatus();
  }

 private:
  std::string pad_, delimiter_;
  bool cleanup_;
};

}  // namespace

StatusOr<DecoderPtr> MakeCtcDecoder(const json& j) {
  ASSIGN_OR_RETURN(std::string pad, GetString(j, "pad_token", "<pad>"));
  ASSIGN_OR_RETURN(std::string delimiter, GetString(j, "word_delimiter_token", "|"));
  ASSIGN_OR_RETURN(const bool cleanup, GetBool(j, "cleanup", true));
  return DecoderPtr(std::make_unique<CtcDecoder>(std::move(pad), std::move(delimiter), cleanup));
}

}  // namespace sinkscope::tokenizer
