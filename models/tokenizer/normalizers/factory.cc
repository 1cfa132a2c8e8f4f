// Normalizer factory: dispatches on the JSON "type" (tokenizers/src/normalizers/mod.rs).
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {

StatusOr<NormalizerPtr> MakeNormalizer(const json& j) {
  if (!j.is_object()) return InvalidArgumentError("normalizer must be a JSON object");
  auto type = RequireString(j, "type");
  if (!type.ok()) return type.status().WithContext("normalizer");
  const std::string& t = *type;
  StatusOr<NormalizerPtr> made = InvalidArgumentError("unknown type");
  if (t == "NFC") {
    made = MakeUnicodeNormalizer(NormalizationForm::kNFC);
  } else if (t == "NFD") {
    made = MakeUnicodeNormalizer(NormalizationForm::kNFD);
  } else if (t == "NFKC") {
    made = MakeUnicodeNormalizer(NormalizationForm::kNFKC);
  } else if (t == "NFKD") {
    made = MakeUnicodeNormalizer(NormalizationForm::kNFKD);
  } else if (t == "Lowercase") {
    made = MakeLowercaseNormalizer(j);
  } else if (t == "Strip") {
    made = MakeStripNormalizer(j);
  } else if (t == "StripAccents") {
    made = MakeStripAccentsNormalizer(j);
  } else if (t == "Replace") {
    made = MakeReplaceNormalizer(j);
  } else if (t == "Prepend") {
    made = MakePrependNormalizer(j);
  } else if (t == "BertNormalizer") {
    made = MakeBertNormalizer(j);
  } else if (t == "Precompiled") {
    made = MakePrecompiledNormalizer(j);
  } else if (t == "Sequence") {
    made = MakeSequenceNormalizer(j);
  } else if (t == "Nmt") {
    made = MakeNmtNormalizer(j);
  } else if (t == "ByteLevel") {
    made = MakeByteLevelNormalizer(j);
  } else {
    return UnimplementedError("normalizer: unknown type '{}'", t);
  }
  if (!made.ok()) return made.status().WithContext(fmt::format("normalizer '{}'", t));
  return made;
}

}  // namespace sinkscope::tokenizer
