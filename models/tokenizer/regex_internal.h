// Oniguruma regexes: the engine the Rust `tokenizers` crate uses for Split and ByteLevel
// (its SysRegex is the `onig` crate), with the iteration rules of onig's find_iter.
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
