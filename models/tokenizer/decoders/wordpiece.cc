// Decoder WordPiece (tokenizers/src/decoders/wordpiece.rs): drops the subword prefix, puts a
// space before other tokens, and with cleanup undoes the tokenization spaces (" ." -> ".",
// " n't" -> "n't", ...).
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

// Applied in this order (decoders/wordpiece.rs, cleanup).
constexpr std::pair<std::string_view, std::string_view> kCleanupRules[] = {
    {" .", "."},   {" ?", "?"},     {" !", "!"},    {" ,", ","},
    {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},  {" do not", " don't"},
    {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};

}  // namespace

std::string WordPieceCleanup(std::string s) {
  for (const auto& [from, to] : kCleanupRules) s = ReplaceAll(s, from, to);
  return s;
}

namespace {

class WordPieceDecoder : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup)
      : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  Status DecodeChain(std::vector<std::string>* tokens) const override {
    for (size_t i = 0; i < tokens->size(); ++i) {
      std::string& t = (*tokens)[i];
      if (i != 0) {
        if (t.compare(0, prefix_.size(), prefix_) == 0) {
          t.erase(0, prefix_.size());
        } else {
          t = " " + t;
        }
      }
      if (cleanup_) t = WordPieceCleanup(std::move(t));
    }
    return OkStatus();
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

}  // namespace

StatusOr<DecoderPtr> MakeWordPieceDecoder(const json& j) {
  ASSIGN_OR_RETURN(std::string prefix, GetString(j, "prefix", "##"));
  ASSIGN_OR_RETURN(const bool cleanup, GetBool(j, "cleanup", true));
  return DecoderPtr(std::make_unique<WordPieceDecoder>(std::move(prefix), cleanup));
}

}  // namespace sinkscope::tokenizer
