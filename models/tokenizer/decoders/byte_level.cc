// Decoder ByteLevel (tokenizers/src/pre_tokenizers/byte_level.rs): GPT-2 characters back to
// bytes (a token with a character outside the table keeps its UTF-8 bytes), then the whole
// byte string as lossy UTF-8.
#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class ByteLevelDecoder : public Decoder {
 public:
  Status DecodeChain(std::vector<std::string>* tokens) const override {
    std::string bytes;
    for (const std::string& t : *tokens) {
      std::string mapped;
      bool ok = true;
      for (const char32_t c : ToCodePoints(t)) {
        const int b = CharToByte(c);
        if (b < 0) {
          ok = false;
          break;
        }
        mapped.push_back(static_cast<char>(b));
      }
      bytes += ok ? mapped : t;
    }
    *tokens = {Utf8Lossy(bytes)};
    return OkStatus();
  }
};

}  // namespace

StatusOr<DecoderPtr> MakeByteLevelDecoder(const json&) {
  return DecoderPtr(std::make_unique<ByteLevelDecoder>());
}

}  // namespace sinkscope::tokenizer
