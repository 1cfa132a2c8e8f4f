// Normalizer Prepend (tokenizers/src/normalizers/prepend.rs): puts a string before non-empty
// text; the new characters align with the first character.
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prepend) : prepend_(std::move(prepend)) {}
  void Normalize(NormalizedString* s) const override { s->Prepend(prepend_); }

 private:
  std::string prepend_;
};

}  // namespace

StatusOr<NormalizerPtr> MakePrependNormalizer(const json& j) {
  ASSIGN_OR_RETURN(std::string prepend, RequireString(j, "prepend"));
  return NormalizerPtr(std::make_unique<PrependNormalizer>(std::move(prepend)));
}

}  // namespace sinkscope::tokenizer
