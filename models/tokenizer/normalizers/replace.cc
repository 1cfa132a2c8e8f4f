// Normalizer Replace (tokenizers/src/normalizers/replace.rs): every match of a literal or an
// Oniguruma regex becomes `content`; the new characters take the alignment of the match's last
// byte (NormalizedString::replace).
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(std::unique_ptr<Pattern> pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void Normalize(NormalizedString* s) const override {
    std::vector<std::pair<size_t, size_t>> matches;
    for (const auto& piece : pattern_->FindMatches(s->get())) {
      if (piece.is_match) matches.emplace_back(piece.begin, piece.end);
    }
    s->ReplaceRanges(matches, content_);
  }

 private:
  std::unique_ptr<Pattern> pattern_;
  std::string content_;
};

}  // namespace

StatusOr<NormalizerPtr> MakeReplaceNormalizer(const json& j) {
  ASSIGN_OR_RETURN(const json* pattern_json, RequireMember(j, "pattern"));
  ASSIGN_OR_RETURN(auto pattern, MakePatternFromJson(*pattern_json));
  ASSIGN_OR_RETURN(std::string content, RequireString(j, "content"));
  return NormalizerPtr(std::make_unique<ReplaceNormalizer>(std::move(pattern), std::move(content)));
}

}  // namespace sinkscope::tokenizer
