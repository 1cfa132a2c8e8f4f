// Pieces of a single-sequence template, shared by the post-processors that add special tokens.
#pragma once

#include <string>
#include <vector>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {

struct SpecialTokenIds {
  std::vector<int32_t> ids;
  std::vector<std::string> tokens;
};

struct TemplatePiece {
  bool is_sequence;         // the input sequence ($A)
  SpecialTokenIds special;  // otherwise: these tokens
};

/// Rebuilds `encoding` as the template says (special tokens with offsets (0, 0), mask 1).
void ApplyTemplate(const std::vector<TemplatePiece>& pieces, RawEncoding* encoding);

/// HF's process_offsets for ByteLevel and RobertaProcessing trim_offsets: offsets shrink to
/// leave out leading/trailing spaces (' ' or the GPT-2 'Ġ') of each token; a single leading
/// space of the first token is kept when add_prefix_space added it.
void TrimByteLevelOffsets(RawEncoding* encoding, bool add_prefix_space);

/// Parses ["token", id] (BertProcessing and RobertaProcessing sep/cls).
StatusOr<TemplatePiece> ParseTokenIdPair(const json& j, std::string_view field);

}  // namespace sinkscope::tokenizer
