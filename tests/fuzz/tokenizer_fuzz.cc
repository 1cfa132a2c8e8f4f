// libFuzzer target for tokenizer.json parsing and encoding (DESIGN §10). Built only with clang
// and -DSINKSCOPE_FUZZ=ON:
//   CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DSINKSCOPE_FUZZ=ON
//   ninja -C build-fuzz sinkscope-tokenizer-fuzz
//   build-fuzz/sinkscope-tokenizer-fuzz -max_len=65536 corpus/
// The first input byte picks the mode: even -> the rest is a tokenizer.json; odd -> the rest
// is text encoded with one of the tiny fixture tokenizers (picked by the second byte). The
// bodies are the ones the in-test fuzz loops run (tests/fuzz/tokenizer_fuzz_body.cc); a broken
// invariant (INTERNAL) aborts so that libFuzzer records the input.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "tests/fuzz/tokenizer_fuzz_body.h"

namespace {

const std::vector<std::unique_ptr<sinkscope::tokenizer::Tokenizer>>& Tokenizers() {
  static const auto* tokenizers = [] {
    auto* v = new std::vector<std::unique_ptr<sinkscope::tokenizer::Tokenizer>>();
    for (const char* name :
         {"bpe_byte_level_roberta", "bpe_metaspace_byte_fallback", "unigram_xlmr_precompiled",
          "wordpiece_bert_custom", "wordlevel_split_invert", "bpe_suffix_prefix"}) {
      auto tok = sinkscope::tokenizer::Tokenizer::FromFile(std::string(SINKSCOPE_FIXTURES_DIR) +
                                                           "/tokenizer/tiny/" + name + ".json");
      if (!tok.ok()) std::abort();
      v->push_back(std::make_unique<sinkscope::tokenizer::Tokenizer>(std::move(tok).value()));
    }
    return v;
  }();
  return *tokenizers;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  sinkscope::Status s;
  if (data[0] % 2 == 0) {
    s = sinkscope::fuzz::FuzzTokenizerJson(
        std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  } else {
    const auto& toks = Tokenizers();
    s = sinkscope::fuzz::FuzzEncode(*toks[data[1] % toks.size()], rest);
  }
  if (s.code() == sinkscope::StatusCode::kInternal) std::abort();
  return 0;
}
