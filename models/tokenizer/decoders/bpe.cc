// Decoder BPEDecoder (tokenizers/src/decoders/bpe.rs): the end-of-word suffix becomes a space
// (nothing on the last token).
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class BpeDecoder : public Decoder {
 public:
  explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  Status DecodeChain(std::vector<std::string>* tokens) const override {
    for (size_t i = 0; i < tokens->size(); ++i) {
      (*tokens)[i] = ReplaceAll((*tokens)[i], suffix_, i + 1 == tokens->size() ? "" : " ");
    }
    return OkStatus();
  }

 private:
  std::string suffix_;
};

}  // namespace

StatusOr<DecoderPtr> MakeBpeDecoder(const json& j) {
  ASSIGN_OR_RETURN(std::string suffix, GetString(j, "suffix", "</w>"));
  return DecoderPtr(std::make_unique<BpeDecoder>(std::move(suffix)));
}

}  // namespace sinkscope::tokenizer
