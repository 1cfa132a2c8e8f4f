// Shared helpers of the tokenizer suites: where the fixtures and real tokenizer.json files are.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/test_support.h"

namespace sinkscope::testing {

inline std::filesystem::path TokenizerFixturesDir() {
  return FixturesDir() / "tokenizer";
}

/// $SINKSCOPE_TOKENIZERS_DIR, else $SINKSCOPE_CACHE/tokenizers, else ~/.cache/sinkscope/tokenizers.
inline std::filesystem::path RealTokenizersDir() {
  if (const char* d = std::getenv("SINKSCOPE_TOKENIZERS_DIR")) return d;
  if (const char* c = std::getenv("SINKSCOPE_CACHE"))
    return std::filesystem::path(c) / "tokenizers";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home ? home : "/") / ".cache" / "sinkscope" / "tokenizers";
}

/// $SINKSCOPE_MODELS_DIR, else ~/.cache/sinkscope/models.
inline std::filesystem::path RealModelsDir() {
  if (const char* d = std::getenv("SINKSCOPE_MODELS_DIR")) return d;
  if (const char* c = std::getenv("SINKSCOPE_CACHE")) return std::filesystem::path(c) / "models";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home ? home : "/") / ".cache" / "sinkscope" / "models";
}

/// The tokenizer.json a fixture name refers to (tiny ones are in the source tree).
inline std::filesystem::path TokenizerJsonFor(const std::string& name, bool real) {
  if (!real) return TokenizerFixturesDir() / "tiny" / (name + ".json");
  if (name == "minilm") return RealModelsDir() / "all-MiniLM-L6-v2" / "tokenizer.json";
  return RealTokenizersDir() / name / "tokenizer.json";
}

/// HF's BytesToCharOffsetConverter (tokenizer/pre_tokenizer.rs): what Python's encode returns.
inline std::pair<size_t, size_t> ToCharOffsets(const std::string& text,
                                               std::pair<size_t, size_t> bytes) {
  std::vector<size_t> char_of(text.size());
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && i > 0) ++chars;
    char_of[i] = chars;
  }
  const auto [b, e] = bytes;
  if (b >= text.size()) return bytes;  // start not in the map: HF leaves the offsets as bytes
  if (e < text.size()) return {char_of[b], char_of[e]};
  return {char_of[b], (e >= 1 && e - 1 < text.size() ? char_of[e - 1] : char_of[b]) + 1};
}

}  // namespace sinkscope::testing
