// sinkscope-metrics spectral [--mode corrected|paper] [--paper-variant laplacian|fiedler]
//                            [--heads mean|heads|heads+mean] [--thresholds 0.01,0.05]
//                            [--options JSON|@file] [--format npy|csv|…] FILE...
//
// Laplacian spectra and star statistics of attention graphs (analyzers/spectral). Each FILE is
// one layer's attention, [n, n] or a 3-D .npy stack [H, n, n]. Prints
// one JSON document {"analyzer": "spectral", "mode": …, "files": [one object per file]} with the
// parameters used and one entry per analysed matrix (head index or "mean"; input health;
// per-threshold metrics; the weighted graph in CORRECTED mode). NaN → null.
// PAPER keys carry "paper_" (spec topology-spectral §7: keep same-name quantities apart).
//
// --options keys: corrected: thresholds, weighted_symmetrization ("mean"|"max"), compute_paths,
// eigen_solver ("auto"|"libtorch"|"eigen"), max_tokens; paper: thresholds, paper_float16,
// paper_gate_layer, eigen_solver, max_tokens. --thresholds and
// --heads override the options.
#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyzers/cli/cli_common.h"
#include "analyzers/cli/commands.h"
#include "analyzers/common/attention_matrices.h"
#include "analyzers/spectral/paper_spectral.h"
#include "analyzers/spectral/spectral.h"

namespace sinkscope::cli {
namespace {

namespace an = analyzers;
namespace sp = analyzers::spectral;
using nlohmann::json;

struct SpectralArgs {
  std::vector<std::string> files;
  std::string mode = "corrected";
  std::string paper_variant = "laplacian";
  std::string heads;
  std::string thresholds;
  std::string options;
  std::string format;
};

StatusOr<std::vector<double>> ParseThresholds(const std::string& text) {
  std::vector<double> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    double value = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size()) {
      return InvalidArgumentError("--thresholds: '{}' is not a number", item);
    }
    out.push_back(value);
    start = end + 1;
  }
  return out;
}

/// A count that is −1 for an invalid matrix becomes null.
json Count(int64_t v) {
  return v < 0 ? json(nullptr) : json(v);
}

json CorrectedJson(const sp::SpectralResult& r) {
  json out = {{"mode", "corrected"},
              {"num_tokens", r.num_tokens},
              {"num_heads", r.num_heads},
              {"heads", an::HeadSelectionName(r.heads)},
              {"thresholds", r.thresholds},
              {"weighted_symmetrization", sp::SymmetrizationName(r.weighted_symmetrization)},
              {"compute_paths", r.compute_paths},
              {"eigen_solver", sp::SymmetricEigenSolverName(r.eigen_solver)}};
  json matrices = json::array();
  for (const auto& m : r.matrices) {
    json thresholds = json::array();
    for (const auto& t : m.thresholds) {
      thresholds.push_back({{"threshold", t.threshold},
                            {"num_edges", Count(t.num_edges)},
                            {"density", JsonNumber(t.density)},
                            {"hub", Count(t.hub)},
                            {"max_in_degree", Count(t.max_in_degree)},
                            {"star_likeness", JsonNumber(t.star_likeness)},
                            {"gini_coefficient", JsonNumber(t.gini_coefficient)},
                            {"degree_centralization", JsonNumber(t.degree_centralization)},
                            {"degree_variance", JsonNumber(t.degree_variance)},
                            {"num_components", Count(t.num_components)},
                            {"zero_eigenvalue_multiplicity", Count(t.zero_eigenvalue_multiplicity)},
                            {"zero_eigenvalue_tolerance", JsonNumber(t.zero_eigenvalue_tolerance)},
                            {"fiedler_value", JsonNumber(t.fiedler_value)},
                            {"normalized_fiedler_value", JsonNumber(t.normalized_fiedler_value)},
                            {"laplacian_gap_difference", JsonNumber(t.laplacian_gap_difference)},
                            {"star_edge_weight", JsonNumber(t.star_edge_weight)},
                            {"star_fiedler_value", JsonNumber(t.star_fiedler_value)},
                            {"fiedler_star_deviation", JsonNumber(t.fiedler_star_deviation)},
                            {"star_proximity", JsonNumber(t.star_proximity)},
                            {"largest_component_size", Count(t.largest_component_size)},
                            {"avg_shortest_path", JsonNumber(t.avg_shortest_path)},
                            {"clustering_coefficient", JsonNumber(t.clustering_coefficient)}});
    }
    const auto& w = m.weighted;
    matrices.push_back({{"head", HeadJson(m.head)},
                        {"valid", m.valid},
                        {"health", HealthJson(m.health)},
                        {"thresholds", thresholds},
                        {"weighted",
                         {{"fiedler_value", JsonNumber(w.fiedler_value)},
                          {"normalized_fiedler_value", JsonNumber(w.normalized_fiedler_value)},
                          {"laplacian_gap_difference", JsonNumber(w.laplacian_gap_difference)},
                          {"hub", Count(w.hub)},
                          {"max_in_strength", JsonNumber(w.max_in_strength)},
                          {"in_strength_gini", JsonNumber(w.in_strength_gini)},
                          {"in_strength_variance", JsonNumber(w.in_strength_variance)}}}});
  }
  out["matrices"] = matrices;
  return out;
}

json PaperJson(const sp::PaperSpectralResult& r) {
  json out = {{"mode", "paper"},
              {"paper_variant", sp::PaperSpectralVariantName(r.variant)},
              {"num_tokens", r.num_tokens},
              {"num_heads", r.num_heads},
              {"heads", an::HeadSelectionName(r.heads)},
              {"thresholds", r.thresholds},
              {"paper_float16", r.paper_float16},
              {"eigen_solver", sp::SymmetricEigenSolverName(r.eigen_solver)},
              {"paper_gate_layer", r.paper_gate_layer ? json(*r.paper_gate_layer) : json(nullptr)}};
  json matrices = json::array();
  for (const auto& m : r.matrices) {
    json thresholds = json::array();
    for (const auto& t : m.thresholds) {
      thresholds.push_back(
          {{"threshold", t.threshold},
           {"paper_threshold_compared", t.paper_threshold_compared},
           {"paper_error", t.paper_error.empty() ? json(nullptr) : json(t.paper_error)},
           {"paper_effective", t.paper_effective},
           {"paper_gated_out", t.paper_gated_out},
           {"paper_num_nodes", Count(t.paper_num_nodes)},
           {"paper_connections", JsonNumber(t.paper_connections)},
           {"paper_connection_density", JsonNumber(t.paper_connection_density)},
           {"paper_first_eigenvalue", JsonNumber(t.paper_first_eigenvalue)},
           {"paper_fiedler_value", JsonNumber(t.paper_fiedler_value)},
           {"paper_spectral_gap", JsonNumber(t.paper_spectral_gap)},
           {"paper_max_in_degree", JsonNumber(t.paper_max_in_degree)},
           {"paper_basic_star_likeness", JsonNumber(t.paper_basic_star_likeness)},
           {"paper_gini_coefficient", JsonNumber(t.paper_gini_coefficient)},
           {"paper_star_likeness", JsonNumber(t.paper_star_likeness)},
           {"paper_degree_centralization", JsonNumber(t.paper_degree_centralization)},
           {"paper_degree_variance", JsonNumber(t.paper_degree_variance)},
           {"paper_avg_shortest_path", JsonNumber(t.paper_avg_shortest_path)},
           {"paper_clustering_coefficient", JsonNumber(t.paper_clustering_coefficient)}});
    }
    matrices.push_back({{"head", HeadJson(m.head)},
                        {"valid", m.valid},
                        {"health", HealthJson(m.health)},
                        {"thresholds", thresholds}});
  }
  out["matrices"] = matrices;
  return out;
}

Status RunSpectral(const SpectralArgs& args) {
  ASSIGN_OR_RETURN(an::Mode mode, an::ParseMode(args.mode));
  ASSIGN_OR_RETURN(json options, ParseOptionsJson(args.options));
  std::optional<std::vector<double>> thresholds;
  if (!args.thresholds.empty()) {
    ASSIGN_OR_RETURN(thresholds, ParseThresholds(args.thresholds));
  }
  std::optional<an::HeadSelection> heads;
  if (!args.heads.empty()) {
    ASSIGN_OR_RETURN(heads, an::ParseHeadSelection(args.heads));
  }
  sp::SpectralOptions corrected;
  sp::PaperSpectralOptions paper;
  std::string solver_name = "auto";
  RETURN_IF_ERROR(ReadOption(options, "eigen_solver", solver_name));
  ASSIGN_OR_RETURN(sp::SymmetricEigenSolver solver, sp::ParseSymmetricEigenSolver(solver_name));
  corrected.eigen_solver = solver;
  paper.eigen_solver = solver;
  if (mode == an::Mode::kCorrected) {
    RETURN_IF_ERROR(CheckOptionKeys(options, {"thresholds", "weighted_symmetrization",
                                              "compute_paths", "eigen_solver", "max_tokens"}));
    RETURN_IF_ERROR(ReadOption(options, "thresholds", corrected.thresholds));
    std::string symmetrization(sp::SymmetrizationName(corrected.weighted_symmetrization));
    RETURN_IF_ERROR(ReadOption(options, "weighted_symmetrization", symmetrization));
    ASSIGN_OR_RETURN(corrected.weighted_symmetrization, sp::ParseSymmetrization(symmetrization));
    RETURN_IF_ERROR(ReadOption(options, "compute_paths", corrected.compute_paths));
    RETURN_IF_ERROR(ReadOption(options, "max_tokens", corrected.max_tokens));
    if (thresholds) corrected.thresholds = *thresholds;
    if (heads) corrected.heads = *heads;
  } else {
    RETURN_IF_ERROR(CheckOptionKeys(options, {"thresholds", "paper_float16", "paper_gate_layer",
                                              "eigen_solver", "max_tokens"}));
    ASSIGN_OR_RETURN(paper.variant, sp::ParsePaperSpectralVariant(args.paper_variant));
    RETURN_IF_ERROR(ReadOption(options, "thresholds", paper.thresholds));
    RETURN_IF_ERROR(ReadOption(options, "paper_float16", paper.paper_float16));
    int gate_layer = -1;
    RETURN_IF_ERROR(ReadOption(options, "paper_gate_layer", gate_layer));
    if (options.contains("paper_gate_layer")) {
      if (gate_layer < 0) return InvalidArgumentError("option 'paper_gate_layer' must be ≥ 0");
      paper.paper_gate_layer = gate_layer;
    }
    RETURN_IF_ERROR(ReadOption(options, "max_tokens", paper.max_tokens));
    if (thresholds) paper.thresholds = *thresholds;
    if (heads) paper.heads = *heads;
  }
  json document = {{"analyzer", "spectral"}, {"mode", std::string(an::ModeName(mode))}};
  document["files"] = json::array();
  for (const std::string& file : args.files) {
    ASSIGN_OR_RETURN(at::Tensor attention, ReadAttentionFile(file, args.format));
    json out;
    if (mode == an::Mode::kCorrected) {
      auto r = sp::ComputeSpectral(attention, corrected);
      if (!r.ok()) return r.status().WithContext(file);
      out = CorrectedJson(*r);
    } else {
      auto r = sp::ComputePaperSpectral(attention, paper);
      if (!r.ok()) return r.status().WithContext(file);
      out = PaperJson(*r);
    }
    out["file"] = file;
    document["files"].push_back(std::move(out));
  }
  PrintJson(document);
  return OkStatus();
}

}  // namespace

void AddSpectralCommand(CLI::App& app) {
  auto args = std::make_shared<SpectralArgs>();
  CLI::App* cmd = app.add_subcommand(
      "spectral", "Laplacian spectra and star statistics of thresholded/weighted attention graphs");
  cmd->add_option("FILE", args->files, "attention files ([n, n] or [H, n, n] .npy)")->required();
  cmd->add_option("--mode", args->mode, "corrected (default) or paper")
      ->check(CLI::IsMember({"corrected", "paper"}));
  cmd->add_option("--paper-variant", args->paper_variant,
                  "paper mode: laplacian (laplacian.ipynb, default) or fiedler (fiedler.ipynb)")
      ->check(CLI::IsMember({"laplacian", "fiedler"}));
  cmd->add_option("--heads", args->heads,
                  "mean, heads or heads+mean (default: heads+mean corrected, mean paper)")
      ->check(CLI::IsMember({"mean", "heads", "heads+mean"}));
  cmd->add_option("--thresholds", args->thresholds, "comma-separated edge thresholds τ");
  cmd->add_option("--options", args->options, "options as JSON, or @file");
  cmd->add_option("--format", args->format,
                  "npy, csv, distance or lower-distance (default: by "
                  "extension)")
      ->check(CLI::IsMember({"lower-distance", "distance", "csv", "npy"}));
  cmd->callback([args] {
    Status s = RunSpectral(*args);
    if (!s.ok()) Fail("spectral", s);
  });
}

}  // namespace sinkscope::cli
