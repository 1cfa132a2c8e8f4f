// Oniguruma regexes: the engine the Rust `tokenizers` crate uses for Split and ByteLevel
// (its SysRegex is the `onig` crate), with the iteration rules of onig's find_iter.
//
// Known difference: tokenizers 0.22.1 bundles Oniguruma 6.9.9 (onig_sys 69.9.1; Unicode 15.0
// property tables) while Debian bookworm ships 6.9.8 (Unicode 14.0). Characters first assigned
// in Unicode 15.0 (e.g. Kawi U+11F00..) fall outside \p{L}, \p{M}, ... here, so a pattern that
// relies on those classes can split them differently (seen with DeepSeek-V3's Split regex).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "models/tokenizer/normalized_string_internal.h"

namespace sinkscope::tokenizer {

class RegexPattern : public Pattern {
 public:
  /// Compiles `pattern` (Ruby syntax, UTF-8, like onig::Regex::new); INVALID_ARGUMENT with
  /// Oniguruma's message when it does not compile.
  static StatusOr<std::unique_ptr<RegexPattern>> Compile(std::string_view pattern);
  ~RegexPattern() override;
  RegexPattern(const RegexPattern&) = delete;
  RegexPattern& operator=(const RegexPattern&) = delete;

  /// Matches in the order of onig's FindMatches (an empty match right after the previous
  /// match is skipped by advancing one character). Safe to call from several threads.
  std::vector<PatternPiece> FindMatches(std::string_view inside) const override;

 private:
  explicit RegexPattern(void* regex) : regex_(regex) {}
  void* regex_;  // OnigRegex; kept opaque so that users of this header need not include onig
};

}  // namespace sinkscope::tokenizer
