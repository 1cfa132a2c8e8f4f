// sinkscope-metrics ph [--format lower-distance|distance|csv|npy] [--dim 1] [--threshold T]
//                      [--max-points N] FILE
//
// prints {"dgms": [[[birth, death], …], …]} — one list per dimension 0..dim, `null` for an
// infinite death, float32 values in their shortest round-trip decimal form — the contract of
// issue 4 for comparing with other tools (ripser, ripser.py's `dgms`). Without --format the format
// follows the extension (.npy, .csv, .ldm/.lower_distance_matrix → lower-distance, otherwise
// distance).
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "analyzers/cli/cli_common.h"
#include "analyzers/cli/commands.h"
#include "analyzers/io/matrix_file.h"
#include "analyzers/topology/persistent_homology.h"

namespace sinkscope::cli {
namespace {

namespace topology = analyzers::topology;

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
  ASSIGN_OR_RETURN(analyzers::io::MatrixFormat format, ResolveFormat(file, format_name));
  ASSIGN_OR_RETURN(analyzers::io::Matrix matrix, analyzers::io::ReadMatrixFile(file, format));
  if (matrix.depth != 1) {
    return InvalidArgumentError("{}: the file holds a stack of {} matrices; ph takes one", file,
                                matrix.depth);
  }
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

struct PhArgs {
  std::string file;
  std::string format;
  int dim = 1;
  std::string threshold;
  int64_t max_points = topology::kDefaultMaxPoints;
};

}  // namespace

void AddPhCommand(CLI::App& app) {
  auto args = std::make_shared<PhArgs>();
  CLI::App* ph = app.add_subcommand(
      "ph", "Vietoris-Rips persistent homology of a distance matrix (agrees with ripser)");
  ph->add_option("FILE", args->file, "matrix file")->required();
  ph->add_option("--format", args->format,
                 "lower-distance, distance, csv or npy (default: by extension)")
      ->check(CLI::IsMember({"lower-distance", "distance", "csv", "npy"}));
  ph->add_option("--dim", args->dim, "highest homology dimension (0, 1 or 2)")
      ->check(CLI::Range(0, 2));
  ph->add_option("--threshold", args->threshold,
                 "Rips complexes up to this diameter (default: none, like ripser's enclosing "
                 "radius)");
  ph->add_option("--max-points", args->max_points, "refuse larger matrices");
  ph->callback([args] {
    Status s = RunPersistentHomology(args->file, args->format, args->dim, args->threshold,
                                     args->max_points);
    if (!s.ok()) Fail("ph", s);
  });
}

}  // namespace sinkscope::cli
