// Decoder Fuse (tokenizers/src/decoders/fuse.rs): joins all tokens into one.
#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class FuseDecoder : public Decoder {
 public:
  Status DecodeChain(std::vector<std::string>* tokens) const override {
    std::string joined;
    for (const auto& t : *tokens) joined += t;
    *tokens = {std::move(joined)};
    return OkStatus();
  }
};

}  // namespace

StatusOr<DecoderPtr> MakeFuseDecoder(const json&) {
  return DecoderPtr(std::make_unique<FuseDecoder>());
}

}  // namespace sinkscope::tokenizer
