// Fuzz bodies (tokenizer_fuzz_body.h).
#include "tests/fuzz/tokenizer_fuzz_body.h"

namespace sinkscope::fuzz {

namespace {

Status CheckEncoding(const tokenizer::Tokenizer& tok, std::string_view text,
                     const tokenizer::Encoding& enc) {
  const size_t n = enc.ids.size();
  if (enc.tokens.size() != n || enc.offsets.size() != n || enc.special_tokens_mask.size() != n) {
    return InternalError("encoding fields have different lengths");
  }
  for (size_t i = 0; i < n; ++i) {
    const auto [b, e] = enc.offsets[i];
    if (b > e || e > text.size()) {
      return InternalError("token {} has offsets [{}, {}) outside the text of {} bytes", i, b, e,
                           text.size());
    }
  }
  for (const size_t p : enc.special_positions) {
    if (p >= n) return InternalError("special position {} past {} tokens", p, n);
  }
  auto decoded = tok.Decode(enc.ids, false);
  if (!decoded.ok() && decoded.status().code() == StatusCode::kInternal) return decoded.status();
  return OkStatus();
}

}  // namespace

Status FuzzEncode(const tokenizer::Tokenizer& tok, std::string_view bytes) {
  for (const bool special : {true, false}) {
    auto enc = tok.Encode(bytes, special);
    if (!enc.ok()) {
      if (enc.status().code() == StatusCode::kInternal) return enc.status();
      continue;
    }
    RETURN_IF_ERROR(CheckEncoding(tok, bytes, *enc));
  }
  return OkStatus();
}

Status FuzzTokenizerJson(std::string_view bytes) {
  auto tok = tokenizer::Tokenizer::FromJson(bytes);
  if (!tok.ok()) return tok.status();
  for (const std::string_view text :
       {std::string_view(""), std::string_view("Hello world, it's 2024!"),
        std::string_view("  \xE6\xB1\x89\xE5\xAD\x97 <s> e\xCC\x81 \xF0\x9F\x91\x8D")}) {
    RETURN_IF_ERROR(FuzzEncode(*tok, text));
  }
  return OkStatus();
}

}  // namespace sinkscope::fuzz
