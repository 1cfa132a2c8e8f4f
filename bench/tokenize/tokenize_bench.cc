// sinkscope-bench-tokenize: times tokenizer loading and encoding for bench/tokenize/run.py.
//
//   sinkscope-bench-tokenize --tokenizer tokenizer.json --input FILE [--whole] [--threads N]
//                            [--warmup 1] [--repeat 3]
//
// Without --whole every line of FILE is one text (encoded with special tokens, split over N
// threads like HF's encode_batch); with --whole the file is one text. Prints one JSON line:
// impl, texts, tokens (per pass), seconds (timed passes), tokens_per_s, load_seconds, checksum
// (FNV-1a over all ids of one pass, to compare with the Python baseline).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "models/tokenizer/tokenizer.h"

namespace {

using Clock = std::chrono::steady_clock;

struct PassResult {
  size_t tokens = 0;
  uint64_t checksum = 0;
  bool ok = true;
  std::string error;
};

uint64_t Fnv1a(uint64_t h, int32_t id) {
  for (int k = 0; k < 4; ++k) {
    h ^= static_cast<uint64_t>((static_cast<uint32_t>(id) >> (8 * k)) & 0xFF);
    h *= 1099511628211ULL;
  }
  return h;
}

PassResult EncodeAll(const sinkscope::tokenizer::Tokenizer& tok,
                     const std::vector<std::string>& texts, int threads) {
  std::vector<std::vector<int32_t>> ids(texts.size());
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::string error;
  auto worker = [&] {
    for (size_t i = next++; i < texts.size(); i = next++) {
      auto enc = tok.Encode(texts[i], true);
      if (!enc.ok()) {
        if (!failed.exchange(true)) error = enc.status().ToString();
        return;
      }
      ids[i] = std::move(enc->ids);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  PassResult r;
  if (failed) {
    r.ok = false;
    r.error = error;
    return r;
  }
  r.checksum = 1469598103934665603ULL;
  for (const auto& v : ids) {
    r.tokens += v.size();
    for (const int32_t id : v) r.checksum = Fnv1a(r.checksum, id);
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string tokenizer_path, input;
  bool whole = false;
  int threads = 1, warmup = 1, repeat = 3;
  CLI::App app{"Tokenizer encode benchmark (bench/tokenize/run.py drives it)"};
  app.add_option("--tokenizer", tokenizer_path, "tokenizer.json")->required();
  app.add_option("--input", input, "text file")->required();
  app.add_flag("--whole", whole, "the whole file is one text (default: one text per line)");
  app.add_option("--threads", threads, "encoding threads")->check(CLI::Range(1, 256));
  app.add_option("--warmup", warmup, "untimed passes")->check(CLI::Range(0, 100));
  app.add_option("--repeat", repeat, "timed passes")->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);

  std::ifstream in(input, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "sinkscope-bench-tokenize: cannot open %s\n", input.c_str());
    return 1;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<std::string> texts;
  if (whole) {
    texts.push_back(ss.str());
  } else {
    std::string line;
    while (std::getline(ss, line)) texts.push_back(line);
  }

  const auto t0 = Clock::now();
  auto tok = sinkscope::tokenizer::Tokenizer::FromFile(tokenizer_path);
  const double load_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!tok.ok()) {
    std::fprintf(stderr, "sinkscope-bench-tokenize: %s\n", tok.status().ToString().c_str());
    return 1;
  }
  PassResult first;
  for (int w = 0; w < warmup; ++w) first = EncodeAll(*tok, texts, threads);
  const auto t1 = Clock::now();
  PassResult last;
  for (int r = 0; r < repeat; ++r) last = EncodeAll(*tok, texts, threads);
  const double seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  if (!last.ok) {
    std::fprintf(stderr, "sinkscope-bench-tokenize: %s\n", last.error.c_str());
    return 1;
  }
  std::printf("%s\n", fmt::format("{{\"impl\": \"sinkscope\", \"texts\": {}, \"tokens\": {}, "
                                  "\"seconds\": {:.6f}, \"tokens_per_s\": {:.1f}, "
                                  "\"load_seconds\": {:.4f}, \"checksum\": \"{:016x}\"}}",
                                  texts.size(), last.tokens, seconds,
                                  static_cast<double>(last.tokens) * repeat / seconds, load_seconds,
                                  last.checksum)
                          .c_str());
  return 0;
}
