// Pre-tokenizer FixedLength (tokenizers/src/pre_tokenizers/fixed_length.rs): consecutive chunks
// of `length` characters (default 5).
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class FixedLengthPreTokenizer : public PreTokenizer {
 public:
  explicit FixedLengthPreTokenizer(size_t length) : length_(length) {}
  void PreTokenize(PreTokenizedString* s) const override {
    s->Split([&](NormalizedString n) {
      std::vector<PreTokenSplit> out;
      const std::string& text = n.get();
      size_t start = 0;
      while (start < text.size()) {
        size_t end = start;
        for (size_t k = 0; k < length_ && end < text.size(); ++k) {
          end += std::min(Utf8Len(static_cast<unsigned char>(text[end])), text.size() - end);
        }
        if (auto piece = n.Slice(start, end)) out.push_back({std::move(*piece), false, {}});
        start = end;
      }
      return out;
    });
  }

 private:
  size_t length_;
};

}  // namespace

StatusOr<PreTokenizerPtr> MakeFixedLengthPreTokenizer(const json& j) {
  ASSIGN_OR_RETURN(const int64_t length, GetInt(j, "length", 5));
  if (length <= 0) return InvalidArgumentError("'length' must be positive, got {}", length);
  return PreTokenizerPtr(std::make_unique<FixedLengthPreTokenizer>(static_cast<size_t>(length)));
}

}  // namespace sinkscope::tokenizer
