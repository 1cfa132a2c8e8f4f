// Oniguruma wrapper (see regex_internal.h).
#include <oniguruma.h>
#include <mutex>

#include "models/tokenizer/regex_internal.h"

namespace sinkscope::tokenizer {

namespace {

void InitializeOniguruma() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encodings[1] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
  });
}

}  // namespace

StatusOr<std::unique_ptr<RegexPattern>> RegexPattern::Compile(std::string_view pattern) {
  InitializeOniguruma();
  OnigRegex regex = nullptr;
  OnigErrorInfo info;
  const auto* begin = reinterpret_cast<const OnigUChar*>(pattern.data());
  const int rc = onig_new(&regex, begin, begin + pattern.size(), ONIG_OPTION_NONE,
                          ONIG_ENCODING_UTF8, ONIG_SYNTAX_RUBY, &info);
  if (rc != ONIG_NORMAL) {
    OnigUChar message[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(message, rc, &info);
    if (regex != nullptr) onig_free(regex);
    return InvalidArgumentError("bad regex '{}': {}", pattern,
                                reinterpret_cast<const char*>(message));
  }
  return std::unique_ptr<RegexPattern>(new RegexPattern(regex));
}

RegexPattern::~RegexPattern() {
  onig_free(static_cast<OnigRegex>(regex_));
}

std::vector<PatternPiece> RegexPattern::FindMatches(std::string_view inside) const {
  if (inside.empty()) return {{0, 0, false}};
  auto* regex = static_cast<OnigRegex>(regex_);
  const auto* str = reinterpret_cast<const OnigUChar*>(inside.data());
  const auto* end = str + inside.size();
  OnigRegion* region = onig_region_new();
  std::vector<PatternPiece> out;
  size_t prev = 0;
  size_t last_end = 0;
  bool have_last_match = false;
  size_t last_match_end = 0;
  while (last_end <= inside.size()) {
    onig_region_clear(region);
    const int r = onig_search(regex, str, end, str + last_end, end, region, ONIG_OPTION_NONE);
    if (r < 0) break;  // ONIG_MISMATCH, or an error (treated as no further match)
    const auto s = static_cast<size_t>(region->beg[0]);
    const auto e = static_cast<size_t>(region->end[0]);
    if (s == e && have_last_match && last_match_end == e) {
      // An empty match right after the previous one: advance one character and retry.
      last_end +=
          last_end < inside.size() ? Utf8Len(static_cast<unsigned char>(inside[last_end])) : 1;
      continue;
    }
    last_end = e;
    have_last_match = true;
    last_match_end = e;
    if (prev != s) out.push_back({prev, s, false});
    out.push_back({s, e, true});
    prev = e;
    if (s == e && e == inside.size()) break;
  }
  onig_region_free(region, 1);
  if (prev != inside.size()) out.push_back({prev, inside.size(), false});
  return out;
}

}  // namespace sinkscope::tokenizer
