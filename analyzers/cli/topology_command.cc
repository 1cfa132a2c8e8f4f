// sinkscope-metrics topology [--mode corrected|paper] [--heads mean|heads|heads+mean]
//                            [--symmetrize max|mean] [--sink first|max-column|none]
//                            [--options JSON|@file] [--format npy|csv|distance|lower-distance]
//                            FILE...
//
// Topology metrics of attention matrices (analyzers/topology/topology_metrics.h for CORRECTED,
// paper_topology_metrics.h for PAPER). Each FILE holds one matrix [n, n] or a layer's heads
// [H, n, n] (3-D .npy). Prints one JSON object:
//   {"analyzer": "topology", "mode": …, "heads": …, "options": {…},
//    "files": [{"file": …, "num_heads": H, "num_tokens": n, "matrices": [{"head": 0 | "mean",
//    …}]}]}
// NaN → null, ±∞ → "inf"/"-inf", an infinite death → null (as in `ph`); bar values are float32 in
// their shortest round-trip decimal form. --options keys (JSON object):
//   corrected: distance ("one-minus" | "neg-log"), log_epsilon, max_dim, betti_grid,
//              persistence_thresholds, include_bars, max_tokens
//   paper:     paper_max_points, density_thresholds, include_bars, max_tokens, head_metrics
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "analyzers/cli/cli_common.h"
#include "analyzers/cli/commands.h"
#include "analyzers/common/attention_matrices.h"
#include "analyzers/topology/paper_topology_metrics.h"
#include "analyzers/topology/topology_metrics.h"

namespace sinkscope::cli {
namespace {

namespace topology = analyzers::topology;
using nlohmann::json;

struct TopologyArgs {
  std::vector<std::string> files;
  std::string mode = "corrected";
  std::string heads;
  std::string symmetrize;
  std::string sink;
  std::string options;
  std::string format;
};

/// A float32 filtration value as its shortest decimal (0.65f → 0.65, not 0.6499999761…).
json BarValue(float v) {
  if (std::isinf(v)) return v > 0 ? json(nullptr) : json("-inf");
  return std::stod(fmt::format("{}", v));
}

json Bars(const std::vector<topology::PersistenceInterval>& bars) {
  json out = json::array();
  for (const auto& b : bars) out.push_back({BarValue(b.birth), BarValue(b.death)});
  return out;
}

json VariantJson(const topology::TopologyVariant& v, bool include_bars) {
  json dims = json::array();
  for (const auto& d : v.dims) {
    json dim = {{"dim", d.dim},
                {"num_pairs", d.num_pairs},
                {"num_finite", d.num_finite},
                {"num_infinite", d.num_infinite},
                {"betti_curve", d.betti_curve},
                {"num_persistent", d.num_persistent},
                {"total_persistence", JsonNumber(d.total_persistence)},
                {"max_persistence", JsonNumber(d.max_persistence)},
                {"persistent_entropy", JsonNumber(d.persistent_entropy)}};
    if (include_bars) dim["bars"] = Bars(d.bars);
    dims.push_back(std::move(dim));
  }
  return {{"num_tokens", v.num_tokens},
          {"removed_token", v.removed_token >= 0 ? json(v.removed_token) : json(nullptr)},
          {"num_clamped_distances", v.num_clamped_distances},
          {"num_nonempty_rows", v.num_nonempty_rows},
          {"mean_row_max", JsonNumber(v.mean_row_max)},
          {"mean_row_entropy_bits", JsonNumber(v.mean_row_entropy_bits)},
          {"dims", std::move(dims)}};
}

Status ReadCorrectedOptions(const json& o, topology::TopologyMetricsOptions& options) {
  RETURN_IF_ERROR(CheckOptionKeys(o, {"distance", "log_epsilon", "max_dim", "betti_grid",
                                      "persistence_thresholds", "include_bars", "max_tokens"}));
  std::string distance(topology::DistanceTransformName(options.distance));
  RETURN_IF_ERROR(ReadOption(o, "distance", distance));
  ASSIGN_OR_RETURN(options.distance, topology::ParseDistanceTransform(distance));
  RETURN_IF_ERROR(ReadOption(o, "log_epsilon", options.log_epsilon));
  RETURN_IF_ERROR(ReadOption(o, "max_dim", options.max_dim));
  RETURN_IF_ERROR(ReadOption(o, "betti_grid", options.betti_grid));
  RETURN_IF_ERROR(ReadOption(o, "persistence_thresholds", options.persistence_thresholds));
  RETURN_IF_ERROR(ReadOption(o, "include_bars", options.include_bars));
  RETURN_IF_ERROR(ReadOption(o, "max_tokens", options.max_tokens));
  return OkStatus();
}

StatusOr<json> CorrectedFile(const at::Tensor& attention,
                             const topology::TopologyMetricsOptions& options) {
  ASSIGN_OR_RETURN(topology::TopologyMetricsResult r,
                   topology::ComputeTopologyMetrics(attention, options));
  json matrices = json::array();
  for (const auto& m : r.matrices) {
    matrices.push_back(
        {{"head", HeadJson(m.head)},
         {"valid", m.valid},
         {"health", HealthJson(m.health)},
         {"sink_index", m.sink_index >= 0 ? json(m.sink_index) : json(nullptr)},
         {"sink_mass", JsonNumber(m.sink_mass)},
         {"with_sink", VariantJson(m.with_sink, options.include_bars)},
         {"without_sink",
          m.without_sink ? VariantJson(*m.without_sink, options.include_bars) : json(nullptr)}});
  }
  return json{{"num_heads", r.num_heads}, {"num_tokens", r.num_tokens}, {"matrices", matrices}};
}

struct PaperCliOptions {
  topology::PaperTopologyOptions topology;
  bool head_metrics = true;
};

Status ReadPaperOptions(const json& o, PaperCliOptions& options) {
  RETURN_IF_ERROR(CheckOptionKeys(
      o, {"paper_max_points", "density_thresholds", "include_bars", "max_tokens", "head_metrics"}));
  RETURN_IF_ERROR(ReadOption(o, "paper_max_points", options.topology.paper_max_points));
  RETURN_IF_ERROR(ReadOption(o, "density_thresholds", options.topology.density_thresholds));
  RETURN_IF_ERROR(ReadOption(o, "include_bars", options.topology.include_bars));
  RETURN_IF_ERROR(ReadOption(o, "max_tokens", options.topology.max_tokens));
  RETURN_IF_ERROR(ReadOption(o, "head_metrics", options.head_metrics));
  return OkStatus();
}

/// "density@0.2": the threshold as Python prints it, like the notebook's keys.
std::string DensityKey(double tau) {
  return fmt::format("density@{}", tau);
}

StatusOr<json> PaperFile(const at::Tensor& attention, const PaperCliOptions& options) {
  ASSIGN_OR_RETURN(topology::PaperTopologyResult r,
                   topology::ComputePaperTopologyMetrics(attention, options.topology));
  json matrices = json::array();
  for (const auto& m : r.matrices) {
    json e = {{"head", HeadJson(m.head)},
              {"valid", m.valid},
              {"health", HealthJson(m.health)},
              {"num_tokens", m.num_tokens},
              {"paper_kept_tokens", m.paper_kept_tokens},
              {"attention_mean", JsonNumber(m.attention_mean)},
              {"attention_max", JsonNumber(m.attention_max)},
              {"attention_min", JsonNumber(m.attention_min)},
              {"attention_std", JsonNumber(m.attention_std)},
              {"paper_dense_path", m.paper_dense_path},
              {"paper_betti0", m.valid ? json(m.paper_betti0) : json(nullptr)},
              {"paper_betti1", m.valid ? json(m.paper_betti1) : json(nullptr)}};
    if (options.topology.include_bars) {
      e["paper_dgm0"] = Bars(m.paper_dgm0);
      e["paper_dgm1"] = Bars(m.paper_dgm1);
    }
    // Present only when the notebook would write them (finite pairs exist).
    const std::pair<const char*, const std::optional<double>*> stats[] = {
        {"dim0_avg_persistence", &m.dim0_avg_persistence},
        {"dim0_max_persistence", &m.dim0_max_persistence},
        {"dim1_avg_persistence", &m.dim1_avg_persistence},
        {"dim1_max_persistence", &m.dim1_max_persistence}};
    for (const auto& [key, value] : stats) {
      if (value->has_value()) e[key] = JsonNumber(**value);
    }
    for (size_t t = 0; t < m.density.size(); ++t) {
      e[DensityKey(options.topology.density_thresholds[t])] = JsonNumber(m.density[t]);
    }
    matrices.push_back(std::move(e));
  }
  json out = {{"num_heads", r.num_heads}, {"num_tokens", r.num_tokens}, {"matrices", matrices}};
  if (options.head_metrics) {
    ASSIGN_OR_RETURN(std::vector<topology::PaperHeadMetrics> heads,
                     topology::ComputePaperHeadMetrics(attention));
    json list = json::array();
    for (const auto& h : heads) {
      list.push_back({{"head", HeadJson(h.head)},
                      {"valid", h.valid},
                      {"avg_attention", JsonNumber(h.avg_attention)},
                      {"max_attention", JsonNumber(h.max_attention)},
                      {"std_attention", JsonNumber(h.std_attention)},
                      {"entropy", JsonNumber(h.entropy)},
                      {"top_idx", h.top_idx},
                      {"top_strength", JsonNumber(h.top_strength)},
                      {"strongest_connection",
                       {h.strongest_source, h.strongest_target, JsonNumber(h.strongest_value)}}});
    }
    out["paper_head_metrics"] = std::move(list);
  }
  return out;
}

Status RunTopology(const TopologyArgs& args) {
  ASSIGN_OR_RETURN(analyzers::Mode mode, analyzers::ParseMode(args.mode));
  ASSIGN_OR_RETURN(json raw_options, ParseOptionsJson(args.options));
  json out = {{"analyzer", "topology"}, {"mode", args.mode}};
  json files = json::array();
  if (mode == analyzers::Mode::kCorrected) {
    topology::TopologyMetricsOptions options;
    if (!args.heads.empty()) {
      ASSIGN_OR_RETURN(options.heads, analyzers::ParseHeadSelection(args.heads));
    }
    if (!args.symmetrize.empty()) {
      ASSIGN_OR_RETURN(options.symmetrization, topology::ParseSymmetrization(args.symmetrize));
    }
    if (args.sink == "none") {
      options.sink_rule = std::nullopt;
    } else if (!args.sink.empty()) {
      ASSIGN_OR_RETURN(options.sink_rule, analyzers::ParseSinkRule(args.sink));
    }
    RETURN_IF_ERROR(ReadCorrectedOptions(raw_options, options).WithContext("--options"));
    out["heads"] = analyzers::HeadSelectionName(options.heads);
    out["options"] = {{"symmetrization", topology::SymmetrizationName(options.symmetrization)},
                      {"distance", topology::DistanceTransformName(options.distance)},
                      {"log_epsilon", options.log_epsilon},
                      {"max_dim", options.max_dim},
                      {"sink", options.sink_rule ? json(analyzers::SinkRuleName(*options.sink_rule))
                                                 : json("none")},
                      {"betti_grid", options.betti_grid},
                      {"persistence_thresholds", options.persistence_thresholds}};
    for (const auto& file : args.files) {
      ASSIGN_OR_RETURN(at::Tensor attention, ReadAttentionFile(file, args.format));
      auto r = CorrectedFile(attention, options);
      if (!r.ok()) return r.status().WithContext(file);
      (*r)["file"] = file;
      files.push_back(std::move(*r));
    }
  } else {
    if (!args.symmetrize.empty() || !args.sink.empty()) {
      return InvalidArgumentError(
          "--symmetrize and --sink apply to --mode corrected; PAPER mode uses 1 − Ā as is");
    }
    PaperCliOptions options;
    if (!args.heads.empty()) {
      ASSIGN_OR_RETURN(options.topology.heads, analyzers::ParseHeadSelection(args.heads));
    }
    RETURN_IF_ERROR(ReadPaperOptions(raw_options, options).WithContext("--options"));
    out["heads"] = analyzers::HeadSelectionName(options.topology.heads);
    out["options"] = {{"paper_max_points", options.topology.paper_max_points},
                      {"density_thresholds", options.topology.density_thresholds}};
    for (const auto& file : args.files) {
      ASSIGN_OR_RETURN(at::Tensor attention, ReadAttentionFile(file, args.format));
      auto r = PaperFile(attention, options);
      if (!r.ok()) return r.status().WithContext(file);
      (*r)["file"] = file;
      files.push_back(std::move(*r));
    }
  }
  out["files"] = std::move(files);
  PrintJson(out);
  return OkStatus();
}

}  // namespace

void AddTopologyCommand(CLI::App& app) {
  auto args = std::make_shared<TopologyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "topology", "Topology metrics of attention matrices (persistent homology, Betti curves)");
  cmd->add_option("FILE", args->files, "attention files: [n, n] or [heads, n, n] (.npy)")
      ->required();
  cmd->add_option("--mode", args->mode, "corrected (default) or paper")
      ->check(CLI::IsMember({"corrected", "paper"}));
  cmd->add_option("--heads", args->heads,
                  "mean, heads or heads+mean (default: heads+mean corrected, mean paper)")
      ->check(CLI::IsMember({"mean", "heads", "heads+mean"}));
  cmd->add_option("--symmetrize", args->symmetrize, "max (default) or mean; corrected only")
      ->check(CLI::IsMember({"max", "mean"}));
  cmd->add_option("--sink", args->sink, "first (default), max-column or none; corrected only")
      ->check(CLI::IsMember({"first", "max-column", "none"}));
  cmd->add_option("--options", args->options, "more options as a JSON object, or @file");
  cmd->add_option("--format", args->format,
                  "npy, csv, distance or lower-distance (default: by extension)")
      ->check(CLI::IsMember({"lower-distance", "distance", "csv", "npy"}));
  cmd->callback([args] {
    Status s = RunTopology(*args);
    if (!s.ok()) Fail("topology", s);
  });
}

}  // namespace sinkscope::cli
