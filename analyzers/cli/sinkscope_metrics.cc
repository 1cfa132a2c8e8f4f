// sinkscope-metrics: sinkscope's analyzers on matrices from files, results as JSON on stdout.
//
//   sinkscope-metrics ph [--format lower-distance|distance|csv|npy] [--dim 1] [--threshold T]
//                        [--max-points N] FILE
//
// prints {"dgms": [[[birth, death], …], …]} — one list per dimension 0..dim, `null` for an
// infinite death, float32 values in their shortest round-trip decimal form — the contract of
// issue 4 for comparing with other tools (ripser, ripser.py's `dgms`). Without --format the format
// follows the extension (.npy, .csv, .ldm/.lower_distance_matrix → lower-distance, otherwise
// distance). Errors go to stderr with the file name; the exit status is 1 (2 for bad usage).
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "analyzers/io/matrix_file.h"
#include "analyzers/topology/persistent_homology.h"

namespace sinkscope {
namespace {

using analyzers::io::MatrixFormat;
namespace topology = analyzers::topology;

MatrixFormat FormatFromExtension(const std::string& file) {
  auto ends_with = [&](std::string_view suffix) {
    return file.size() >= suffix.size() &&
           file.compare(file.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".npy")) return MatrixFormat::kNpy;
  if (ends_with(".csv")) return MatrixFormat::kCsv;
  if (ends_with(".ldm") || ends_with(".lower_distance_matrix")) {
    return MatrixFormat::kLowerDistance;
  }
  return MatrixFormat::kDistance;
}

std::string DiagramsJson(const topology::PersistenceResult& result) {
  std::string out = "{\"dgms\": [";
  for (size_t d = 0; d < result.barcodes.size(); ++d) {
    out += d == 0 ? "[" : ", [";
    for (size_t k = 0; k < result.barcodes[d].size(); ++k) {
      const auto& bar = result.barcodes[d][k];
      out +=
          fmt::format("{}[{}, {}]", k == 0 ? "" : ", ", bar.birth,
                      std::isinf(bar.death) ? std::string("null") : fmt::format("{}", bar.death));
    }
    out += "]";
  }
  out += "]}";
  return out;
}

/// The threshold text parsed straight to float32 (correctly rounded, like ripser's std::stof), so
/// both programs cut at the same value.
StatusOr<float> ParseThreshold(const std::string& text) {
  if (text.empty()) return std::numeric_limits<float>::infinity();
  float value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || std::isnan(value)) {
    return InvalidArgumentError("--threshold '{}' is not a number", text);
  }
  return value;
}

Status RunPersistentHomology(const std::string& file, const std::string& format_name, int dim,
                             const std::string& threshold_text, int64_t max_points) {
  ASSIGN_OR_RETURN(float threshold, ParseThreshold(threshold_text));
  MatrixFormat format = FormatFromExtension(file);
  if (!format_name.empty()) {
    ASSIGN_OR_RETURN(format, analyzers::io::ParseMatrixFormat(format_name));
  }
  ASSIGN_OR_RETURN(analyzers::io::Matrix matrix, analyzers::io::ReadMatrixFile(file, format));
  topology::PersistenceOptions options;
  options.max_dim = dim;
  options.threshold = threshold;
  options.max_points = max_points;
  auto view =
      topology::DistanceMatrixView{matrix.values.data(), matrix.rows, matrix.cols, matrix.cols,
                                   topology::DistanceMatrixView::Layout::kFull};
  auto result = topology::ComputePersistence(view, options);
  if (!result.ok()) return result.status().WithContext(file);
  std::string json = DiagramsJson(*result);
  std::fputs(json.c_str(), stdout);
  std::fputc('\n', stdout);
  return OkStatus();
}

}  // namespace
}  // namespace sinkscope

int main(int argc, char** argv) {
  CLI::App app{"sinkscope analyzers on matrices from files; JSON on stdout"};
  app.require_subcommand(1);

  CLI::App* ph = app.add_subcommand(
      "ph", "Vietoris-Rips persistent homology of a distance matrix (agrees with ripser)");
  std::string file, format;
  int dim = 1;
  std::string threshold;
  int64_t max_points = sinkscope::analyzers::topology::kDefaultMaxPoints;
  ph->add_option("FILE", file, "matrix file")->required();
  ph->add_option("--format", format, "lower-distance, distance, csv or npy (default: by extension)")
      ->check(CLI::IsMember({"lower-distance", "distance", "csv", "npy"}));
  ph->add_option("--dim", dim, "highest homology dimension (0, 1 or 2)")->check(CLI::Range(0, 2));
  ph->add_option("--threshold", threshold,
                 "Rips complexes up to this diameter (default: none, like ripser's enclosing "
                 "radius)");
  ph->add_option("--max-points", max_points, "refuse larger matrices");

  CLI11_PARSE(app, argc, argv);

  if (ph->parsed()) {
    sinkscope::Status s =
        sinkscope::RunPersistentHomology(file, format, dim, threshold, max_points);
    if (!s.ok()) {
      std::fprintf(stderr, "sinkscope-metrics ph: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  return 0;
}
