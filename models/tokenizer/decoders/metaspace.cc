// Decoder Metaspace (tokenizers/src/pre_tokenizers/metaspace.rs): the replacement character
// becomes a space, except in the first token when a prefix was prepended.
#include "models/tokenizer/components_internal.h"
#include "models/tokenizer/metaspace_internal.h"

namespace sinkscope::tokenizer {
namespace {

class MetaspaceDecoder : public Decoder {
 public:
  explicit MetaspaceDecoder(MetaspaceConfig config) : config_(std::move(config)) {}
  Status DecodeChain(std::vector<std::string>* tokens) const override {
    for (size_t i = 0; i < tokens->size(); ++i) {
      std::string out;
      for (const char32_t c : ToCodePoints((*tokens)[i])) {
        if (c == config_.replacement_char) {
          if (i == 0 && config_.prepend_scheme != PrependScheme::kNever) continue;
          out.push_back(' ');
        } else {
          AppendUtf8(c, &out);
        }
      }
      (*tokens)[i] = std::move(out);
    }
    return OkStatus();
  }

 private:
  MetaspaceConfig config_;
};

}  // namespace

StatusOr<DecoderPtr> MakeMetaspaceDecoder(const json& j) {
  ASSIGN_OR_RETURN(MetaspaceConfig config, ParseMetaspaceConfig(j));
  return DecoderPtr(std::make_unique<MetaspaceDecoder>(std::move(config)));
}

}  // namespace sinkscope::tokenizer
