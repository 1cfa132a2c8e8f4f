// The body shared by the libFuzzer target (tokenizer_fuzz.cc) and the in-test fuzz loops
// (tests/tokenizer/robustness_test.cc): arbitrary bytes as tokenizer.json, and arbitrary bytes
// as text to encode. Both must come back as a Status (never crash, hang or throw); on success
// the encoding's invariants are checked and a violation is returned as INTERNAL.
#pragma once

#include <string_view>

#include "core/status.h"
#include "models/tokenizer/tokenizer.h"

namespace sinkscope::fuzz {

/// Parses `bytes` as tokenizer.json; if that works, encodes and decodes a few fixed texts.
/// Returns the parse status (OK or an input error), or INTERNAL for a broken invariant.
Status FuzzTokenizerJson(std::string_view bytes);

/// Encodes `bytes` with and without special tokens, checks the invariants (as many offsets as
/// ids, offsets within the text, ids that map back to tokens) and decodes the ids.
Status FuzzEncode(const tokenizer::Tokenizer& tok, std::string_view bytes);

}  // namespace sinkscope::fuzz
