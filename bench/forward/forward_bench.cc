// sinkscope-bench-forward: throughput and peak memory of a forward pass with full attention
// capture, the sinkscope half of bench/forward (bench/forward/run.py runs it next to
// bench/forward/hf_forward.py and prints the ratios).
//
//   sinkscope-bench-forward --model DIR --ids-file FILE [--batch-size N] [--threads T]
//                           [--warmup W] [--repeat R] [--full-forward]
//
// FILE holds one sentence per line as comma-separated token ids. Each repeat runs every sentence
// once, in batches of N (right padding for encoders, left padding for causal models), capturing
// the attention probabilities of every layer. The visitor consumes each sentence's [H,n,n] block
// the way a client would, summing it (and its squares) into checksums that hf_forward.py computes
// the same way. By default the forward stops once the last layer's attention is captured
// (ForwardOptions::stop_after_captures, as the server runs attention-only requests: the last
// layer's output projection and MLP are not needed); --full-forward runs every layer to the end
// and computes the final hidden state, like the baseline. Prints one JSON line to stdout; errors
// go to stderr with exit status 1.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/int_list.h"
#include "core/status.h"
#include "models/cpu_threads.h"
#include "models/model.h"

namespace sinkscope {
namespace {

struct BenchArgs {
  std::string model;
  std::string ids_file;
  int batch_size = 1;
  int threads = 0;
  int warmup = 1;
  int repeat = 3;
  bool full_forward = false;
};

StatusOr<std::vector<std::vector<int64_t>>> ReadIdsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFoundError("--ids-file '{}': cannot open", path);
  std::vector<std::vector<int64_t>> sentences;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    auto ids = ParseIntList(line);
    if (!ids.ok())
      return ids.status().WithContext(fmt::format("--ids-file '{}' line {}", path, line_no));
    sentences.push_back(std::move(ids).value());
  }
  if (sentences.empty()) return InvalidArgumentError("--ids-file '{}': no sentences", path);
  return sentences;
}

// Peak resident set size of this process in MiB (VmHWM), or -1 when /proc is unavailable.
double PeakRssMib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return std::stod(line.substr(6)) / 1024.0;  // reported in kB
    }
  }
  return -1.0;
}

struct PassResult {
  double checksum = 0.0;     // sum of every sentence's attention block over all layers
  double checksum_sq = 0.0;  // sum of squared probabilities (discriminates, unlike the sum)
};

// Runs every sentence once, in batches, and consumes all attention captures.
StatusOr<PassResult> RunPass(models::Model& model,
                             const std::vector<std::vector<int64_t>>& sentences,
                             const models::ForwardOptions& options, int batch_size) {
  const models::ModelInfo& info = model.info();
  const auto side = info.causal ? models::PaddingSide::kLeft : models::PaddingSide::kRight;
  PassResult pass;
  for (size_t start = 0; start < sentences.size(); start += batch_size) {
    const size_t end = std::min(sentences.size(), start + static_cast<size_t>(batch_size));
    std::vector<std::vector<int64_t>> chunk(sentences.begin() + start, sentences.begin() + end);
    models::Batch batch = models::MakeBatch(chunk, side, info.pad_token_id);
    auto result = model.Forward(batch, options, [&](const models::LayerCapture& capture) {
      if (!capture.Has(models::CapturePoint::kAttention)) {
        return Status(StatusCode::kInternal,
                      fmt::format("layer {}: no attention capture", capture.layer));
      }
      const at::Tensor& probs = capture.Get(models::CapturePoint::kAttention);  // [B,H,T,T]
      for (size_t b = 0; b < chunk.size(); ++b) {
        const int64_t offset = batch.offsets[b], n = batch.lengths[b];
        at::Tensor block = probs[b].narrow(1, offset, n).narrow(2, offset, n);  // [H,n,n]
        pass.checksum += block.sum(at::kDouble).item<double>();
        pass.checksum_sq += block.square().sum(at::kDouble).item<double>();
      }
      return OkStatus();
    });
    if (!result.ok()) return result.status();
  }
  return pass;
}

Status Run(const BenchArgs& args) {
  if (args.batch_size <= 0) return InvalidArgumentError("--batch-size must be positive");
  if (args.warmup < 0) return InvalidArgumentError("--warmup must be >= 0");
  if (args.repeat <= 0) return InvalidArgumentError("--repeat must be positive");
  const int threads = args.threads > 0
                          ? args.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const models::CpuThreadConfig thread_config = models::ConfigureCpuThreads(threads);
  std::fprintf(stderr, "threads: %s\n", thread_config.ToString().c_str());

  ASSIGN_OR_RETURN(auto sentences, ReadIdsFile(args.ids_file));
  int64_t tokens_per_pass = 0;
  for (const auto& s : sentences) tokens_per_pass += static_cast<int64_t>(s.size());

  ASSIGN_OR_RETURN(auto model, models::LoadModel(args.model, models::LoadOptions{}));
  models::ForwardOptions options;
  options.capture.Enable(models::CapturePoint::kAttention);  // layers empty: every layer
  options.stop_after_captures = !args.full_forward;

  for (int i = 0; i < args.warmup; ++i) {
    ASSIGN_OR_RETURN(PassResult ignored, RunPass(*model, sentences, options, args.batch_size));
    (void)ignored;
  }
  PassResult last;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < args.repeat; ++i) {
    ASSIGN_OR_RETURN(last, RunPass(*model, sentences, options, args.batch_size));
  }
  const auto t1 = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(t1 - t0).count();
  const int64_t tokens = tokens_per_pass * args.repeat;

  nlohmann::json out = {
      {"impl", args.full_forward ? "sinkscope_full" : "sinkscope"},
      {"full_forward", args.full_forward},
      {"model_type", model->info().model_type},
      {"batch_size", args.batch_size},
      {"threads", threads},
      {"sentences", sentences.size()},
      {"repeat", args.repeat},
      {"tokens", tokens},
      {"seconds", seconds},
      {"tokens_per_s", static_cast<double>(tokens) / seconds},
      {"peak_rss_mib", PeakRssMib()},
      {"checksum", last.checksum},
      {"checksum_sq", last.checksum_sq},
  };
  std::printf("%s\n", out.dump().c_str());
  std::fflush(stdout);
  return OkStatus();
}

}  // namespace
}  // namespace sinkscope

int main(int argc, char** argv) {
  sinkscope::BenchArgs args;
  CLI::App app{"Benchmark: forward passes with full attention capture (tokens/s, peak RSS)"};
  app.add_option("--model", args.model, "Model directory, or offline hub id org/name[@revision]")
      ->required();
  app.add_option("--ids-file", args.ids_file, "One sentence per line, comma-separated token ids")
      ->required();
  app.add_option("--batch-size", args.batch_size, "Sentences per forward pass")
      ->capture_default_str();
  app.add_option("--threads", args.threads, "CPU threads (default: all cores)");
  app.add_option("--warmup", args.warmup, "Untimed passes over all sentences")
      ->capture_default_str();
  app.add_option("--repeat", args.repeat, "Timed passes over all sentences")->capture_default_str();
  app.add_flag("--full-forward", args.full_forward,
               "Run every layer to the end (final hidden state) instead of stopping after the "
               "last attention capture");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  sinkscope::Status status = sinkscope::Run(args);
  if (!status.ok()) {
    std::fprintf(stderr, "sinkscope-bench-forward: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
