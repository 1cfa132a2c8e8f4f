// Decoder factory: dispatches on the JSON "type" (tokenizers/src/decoders/mod.rs).
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {

StatusOr<DecoderPtr> MakeDecoder(const json& j) {
  if (!j.is_object()) return InvalidArgumentError("decoder must be a JSON object");
  auto type = RequireString(j, "type");
  if (!type.ok()) return type.status().WithContext("decoder");
  const std::string& t = *type;
  StatusOr<DecoderPtr> made = InvalidArgumentError("unknown type");
  if (t == "ByteLevel") {
    made = MakeByteLevelDecoder(j);
  } else if (t == "Metaspace") {
    made = MakeMetaspaceDecoder(j);
  } else if (t == "WordPiece") {
    made = MakeWordPieceDecoder(j);
  } else if (t == "ByteFallback") {
    made = MakeByteFallbackDecoder(j);
  } else if (t == "Fuse") {
    made = MakeFuseDecoder(j);
  } else if (t == "Strip") {
    made = MakeStripDecoder(j);
  } else if (t == "Replace") {
    made = MakeReplaceDecoder(j);
  } else if (t == "Sequence") {
    made = MakeSequenceDecoder(j);
  } else if (t == "BPEDecoder") {
    made = MakeBpeDecoder(j);
  } else if (t == "CTC") {
    made = MakeCtcDecoder(j);
  } else {
    return UnimplementedError("decoder: unknown type '{}'", t);
  }
  if (!made.ok()) return made.status().WithContext(fmt::format("decoder '{}'", t));
  return made;
}

}  // namespace sinkscope::tokenizer
