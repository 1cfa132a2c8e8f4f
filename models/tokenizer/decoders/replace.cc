// Decoder Replace (tokenizers/src/normalizers/replace.rs): every pattern match in each token
// becomes `content`.
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(std::unique_ptr<Pattern> pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  Status DecodeChain(std::vector<std::string>* tokens) const override {
    for (std::string& t : *tokens) {
      std::string out;
      for (const auto& piece : pattern_->FindMatches(t)) {
        if (piece.is_match) {
          out += content_;
        } else {
          out.append(t, piece.begin, piece.end - piece.begin);
        }
      }
      t = std::move(out);
    }
    return OkStatus();
  }

 private:
  std::unique_ptr<Pattern> pattern_;
  std::string content_;
};

}  // namespace

StatusOr<DecoderPtr> MakeReplaceDecoder(const json& j) {
  ASSIGN_OR_RETURN(const json* pattern_json, RequireMember(j, "pattern"));
  ASSIGN_OR_RETURN(auto pattern, MakePatternFromJson(*pattern_json));
  ASSIGN_OR_RETURN(std::string content, RequireString(j, "content"));
  return DecoderPtr(std::make_unique<ReplaceDecoder>(std::move(pattern), std::move(content)));
}

}  // namespace sinkscope::tokenizer
