// Post-processor RobertaProcessing (tokenizers/src/processors/roberta.rs): trims offsets like
// ByteLevel when trim_offsets (also without special tokens), then <s> A </s>.
#include <nlohmann/json.hpp>

#include "models/tokenizer/post_processors/special_internal.h"

namespace sinkscope::tokenizer {
namespace {

class RobertaPostProcessor : public PostProcessor {
 public:
  RobertaPostProcessor(std::vector<TemplatePiece> pieces, bool trim_offsets, bool add_prefix_space)
      : pieces_(std::move(pieces)),
        trim_offsets_(trim_offsets),
        add_prefix_space_(add_prefix_space) {}
  Status Process(RawEncoding* encoding, bool add_special_tokens) const override {
    if (trim_offsets_) TrimByteLevelOffsets(encoding, add_prefix_space_);
    if (add_special_tokens) ApplyTemplate(pieces_, encoding);
    return OkStatus();
  }

 private:
  std::vector<TemplatePiece> pieces_;
  bool trim_offsets_;
  bool add_prefix_space_;
};

}  // namespace

StatusOr<PostProcessorPtr> MakeRobertaPostProcessor(const json& j) {
  ASSIGN_OR_RETURN(TemplatePiece cls, ParseTokenIdPair(j, "cls"));
  ASSIGN_OR_RETURN(TemplatePiece sep, ParseTokenIdPair(j, "sep"));
  ASSIGN_OR_RETURN(const bool trim_offsets, GetBool(j, "trim_offsets", true));
  ASSIGN_OR_RETURN(const bool add_prefix_space, GetBool(j, "add_prefix_space", true));
  std::vector<TemplatePiece> pieces = {cls, TemplatePiece{true, {}}, sep};
  return PostProcessorPtr(
      std::make_unique<RobertaPostProcessor>(std::move(pieces), trim_offsets, add_prefix_space));
}

}  // namespace sinkscope::tokenizer
