// Reading tokenizer.json fast. A 33 MB file (Gemma 3: 262k vocabulary entries, 515k merges)
// spent most of its load time building and freeing nlohmann DOM nodes for model.vocab and
// model.merges. ParseTokenizerJson runs nlohmann's SAX parser with a DOM builder for
// everything else, and collects those two members into flat vectors instead (the DOM then
// holds an empty object/array in their place). Anything unexpected inside them (a vocab value
// that is not an integer, a merge that is neither "a b" nor [a, b]) makes it fall back to the
// plain DOM, so the component factories report the problem as usual.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace sinkscope::tokenizer {

struct MergeItem {
  std::string a;  // the whole "a b" line when is_line
  std::string b;
  bool is_line;
};

/// model.vocab / model.merges when they were taken out of the DOM.
struct ModelTables {
  bool has_vocab = false;
  std::vector<std::pair<std::string, int64_t>> vocab;  // file order; duplicates kept
  bool has_merges = false;
  std::vector<MergeItem> merges;
};

struct ParsedTokenizerJson {
  nlohmann::json root;
  ModelTables tables;
};

/// INVALID_ARGUMENT "not valid JSON: ..." on a syntax error.
StatusOr<ParsedTokenizerJson> ParseTokenizerJson(std::string_view text);

}  // namespace sinkscope::tokenizer
