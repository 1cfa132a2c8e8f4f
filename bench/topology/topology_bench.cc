// sinkscope-bench-topology: times analyzers::topology::ComputePersistence on matrix files, in
// process, on one thread. Driven by bench/topology/run.py, which times the ripser program on the
// same files.
//
//   sinkscope-bench-topology [--format lower-distance] [--dim 1] [--warmup 1] [--repeat 5]
//                            [--list FILE] [--no-workspace] [FILES…]
//
// Per file it prints one JSON line: file, n, seconds per computation (median and min over
// --repeat), bar counts per dimension and a checksum (sum of finite bar values). With --list
// (one path per line, typically many small matrices) it also prints a summary line: all the
// matrices are read first, then computed back to back --repeat times; matrices_per_s is the
// number computed per second of one thread (file reading excluded).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "analyzers/io/matrix_file.h"
#include "analyzers/topology/persistent_homology.h"

namespace {

using namespace sinkscope;
namespace topology = analyzers::topology;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// One workspace for the whole run (one thread), as a caller computing many diagrams would keep;
// --no-workspace measures the allocating call instead.
topology::PersistenceWorkspace* g_workspace = nullptr;

StatusOr<topology::PersistenceResult> Compute(const analyzers::io::Matrix& m,
                                              const topology::PersistenceOptions& options) {
  return topology::ComputePersistence(topology::DistanceMatrixView::Full(m.values.data(), m.rows),
                                      options, g_workspace);
}

std::string BarsJson(const topology::PersistenceResult& r, double* checksum) {
  std::string counts = "[";
  for (size_t d = 0; d < r.barcodes.size(); ++d) {
    counts += fmt::format("{}{}", d == 0 ? "" : ", ", r.barcodes[d].size());
    for (const auto& bar : r.barcodes[d]) {
      if (!std::isinf(bar.death)) *checksum += static_cast<double>(bar.death) - bar.birth;
    }
  }
  return counts + "]";
}

int Run(int argc, char** argv) {
  CLI::App app{"Times sinkscope's persistent homology on matrix files (one thread)"};
  std::string format_name = "lower-distance", list;
  std::vector<std::string> files;
  int dim = 1, warmup = 1, repeat = 5;
  app.add_option("--format", format_name, "matrix file format");
  app.add_option("--dim", dim, "highest homology dimension")->check(CLI::Range(0, 2));
  app.add_option("--warmup", warmup, "untimed runs per file")->check(CLI::NonNegativeNumber);
  app.add_option("--repeat", repeat, "timed runs per file")->check(CLI::PositiveNumber);
  app.add_option("--list", list, "file listing matrix files, one per line (throughput mode)");
  app.add_option("FILES", files, "matrix files (latency mode)");
  bool no_workspace = false;
  app.add_flag("--no-workspace", no_workspace,
               "allocate per call instead of reusing one PersistenceWorkspace");
  CLI11_PARSE(app, argc, argv);
  topology::PersistenceWorkspace workspace;
  if (!no_workspace) g_workspace = &workspace;

  auto format = analyzers::io::ParseMatrixFormat(format_name);
  if (!format.ok()) {
    std::fprintf(stderr, "%s\n", format.status().ToString().c_str());
    return 1;
  }
  topology::PersistenceOptions options;
  options.max_dim = dim;

  for (const std::string& file : files) {
    auto m = analyzers::io::ReadMatrixFile(file, *format);
    if (!m.ok()) {
      std::fprintf(stderr, "%s\n", m.status().ToString().c_str());
      return 1;
    }
    for (int w = 0; w < warmup; ++w) {
      if (!Compute(*m, options).ok()) return 1;
    }
    std::vector<double> times;
    topology::PersistenceResult last;
    for (int r = 0; r < repeat; ++r) {
      auto t0 = Clock::now();
      auto result = Compute(*m, options);
      auto t1 = Clock::now();
      if (!result.ok()) {
        std::fprintf(stderr, "%s: %s\n", file.c_str(), result.status().ToString().c_str());
        return 1;
      }
      times.push_back(Seconds(t0, t1));
      last = std::move(*result);
    }
    std::sort(times.begin(), times.end());
    double checksum = 0;
    std::string bars = BarsJson(last, &checksum);
    int64_t columns = 0, emergent = 0;
    for (size_t d = 1; d < last.num_columns.size(); ++d) {
      columns += last.num_columns[d];
      emergent += last.num_emergent_pairs[d];
    }
    std::printf(
        "{\"file\": \"%s\", \"n\": %ld, \"dim\": %d, \"seconds\": %.9g, \"seconds_min\": %.9g, "
        "\"bars\": %s, \"checksum\": %.9g, \"edges\": %ld, \"columns\": %ld, "
        "\"emergent_pairs\": %ld}\n",
        file.c_str(), m->rows, dim, times[times.size() / 2], times.front(), bars.c_str(), checksum,
        last.num_edges, columns, emergent);
  }

  if (!list.empty()) {
    std::ifstream in(list);
    std::vector<analyzers::io::Matrix> matrices;
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto m = analyzers::io::ReadMatrixFile(line, *format);
      if (!m.ok()) {
        std::fprintf(stderr, "%s\n", m.status().ToString().c_str());
        return 1;
      }
      matrices.push_back(std::move(*m));
    }
    if (matrices.empty()) {
      std::fprintf(stderr, "%s: no matrices listed\n", list.c_str());
      return 1;
    }
    double checksum = 0;
    int64_t max_n = 0, total_bars = 0;
    for (const auto& m : matrices) max_n = std::max(max_n, m.rows);
    for (int w = 0; w < warmup; ++w) {
      for (const auto& m : matrices) {
        if (!Compute(m, options).ok()) return 1;
      }
    }
    std::vector<double> rates;
    for (int r = 0; r < repeat; ++r) {
      checksum = 0;
      total_bars = 0;
      auto t0 = Clock::now();
      for (const auto& m : matrices) {
        auto result = Compute(m, options);
        if (!result.ok()) return 1;
        for (const auto& bars : result->barcodes) total_bars += static_cast<int64_t>(bars.size());
        BarsJson(*result, &checksum);
      }
      auto t1 = Clock::now();
      rates.push_back(static_cast<double>(matrices.size()) / Seconds(t0, t1));
    }
    std::sort(rates.begin(), rates.end());
    std::printf(
        "{\"list\": \"%s\", \"matrices\": %zu, \"max_n\": %ld, \"dim\": %d, \"matrices_per_s\": "
        "%.6g, \"matrices_per_s_max\": %.6g, \"bars\": %ld, \"checksum\": %.9g}\n",
        list.c_str(), matrices.size(), max_n, dim, rates[rates.size() / 2], rates.back(),
        total_bars, checksum);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return Run(argc, argv);
}
