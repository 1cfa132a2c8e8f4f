// sinkscope-metrics fisher GRADS.json [--mode corrected|paper] [--alpha 0.05]
//
// Layer-wise empirical Fisher trace of the parameters (analyzers/infogeo/parameter_fisher) from
// the per-sentence gradient norms `sinkscope-run --parameter-gradients` writes:
//   {"producer": "sinkscope-run", "kind": "parameter_gradients", "loss_padding": …,
//    "parameters": [{"name", "numel"}…],
//    "sentences": [{"squared_norms": […], "fp16_squared_norms": […], …}…]}
// (one value per parameter, in the order of "parameters"; null = NaN, "inf"/"-inf" = ±∞).
// One JSON document {"analyzer": "fisher", "mode": …, "layers": […], "groups": […], …} on stdout;
// NaN → null, ±∞ → "inf"/"-inf". A mode that does not match how the loss treated padding (PAPER
// expects pads in the labels, CORRECTED expects them excluded) is reported under "warnings".
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyzers/cli/cli_common.h"
#include "analyzers/cli/commands.h"
#include "analyzers/infogeo/parameter_fisher.h"

namespace sinkscope::cli {
namespace {

namespace infogeo = analyzers::infogeo;
using nlohmann::json;

struct FisherArgs {
  std::string file;
  std::string mode = "corrected";
  double alpha = 0.05;
};

// A number as sinkscope writes it: a JSON number, null (NaN) or "inf"/"-inf".
StatusOr<double> ReadNumber(const json& v, const std::string& where) {
  if (v.is_number()) return v.get<double>();
  if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (v.is_string() && v.get<std::string>() == "inf") {
    return std::numeric_limits<double>::infinity();
  }
  if (v.is_string() && v.get<std::string>() == "-inf") {
    return -std::numeric_limits<double>::infinity();
  }
  return InvalidArgumentError("{}: expected a number, null, \"inf\" or \"-inf\", got {}", where,
                              v.dump());
}

struct GradientsFile {
  std::string loss_padding;
  std::string model;
  std::vector<infogeo::SampleGradients> samples;
};

StatusOr<GradientsFile> ReadGradients(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFoundError("cannot open '{}'", path);
  json doc = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidArgumentError("'{}' is not a JSON object", path);
  }
  if (doc.value("kind", std::string()) != "parameter_gradients") {
    return InvalidArgumentError(
        "'{}' is not a parameter-gradients file (\"kind\": \"parameter_gradients\"); write one "
        "with sinkscope-run --parameter-gradients",
        path);
  }
  GradientsFile out;
  out.loss_padding = doc.value("loss_padding", std::string());
  out.model = doc.value("model", std::string());
  const json& params = doc["parameters"];
  const json& sentences = doc["sentences"];
  if (!params.is_array() || !sentences.is_array()) {
    return InvalidArgumentError("'{}': \"parameters\" and \"sentences\" must be arrays", path);
  }
  std::vector<std::pair<std::string, int64_t>> names;
  for (const auto& p : params) {
    if (!p.is_object() || !p.contains("name") || !p["name"].is_string() || !p.contains("numel") ||
        !p["numel"].is_number_integer()) {
      return InvalidArgumentError("'{}': each parameter needs a string name and an integer numel",
                                  path);
    }
    names.emplace_back(p["name"].get<std::string>(), p["numel"].get<int64_t>());
  }
  for (size_t k = 0; k < sentences.size(); ++k) {
    const json& s = sentences[k];
    const std::string where = fmt::format("'{}' sentence {}", path, k);
    if (!s.is_object() || !s.contains("squared_norms") || !s["squared_norms"].is_array() ||
        s["squared_norms"].size() != names.size()) {
      return InvalidArgumentError("{}: \"squared_norms\" must hold one value per parameter ({})",
                                  where, names.size());
    }
    const bool has_fp16 = s.contains("fp16_squared_norms");
    if (has_fp16 &&
        (!s["fp16_squared_norms"].is_array() || s["fp16_squared_norms"].size() != names.size())) {
      return InvalidArgumentError(
          "{}: \"fp16_squared_norms\" must hold one value per parameter ({})", where, names.size());
    }
    infogeo::SampleGradients sample;
    for (size_t i = 0; i < names.size(); ++i) {
      infogeo::ParameterGradientNorm p;
      p.name = names[i].first;
      p.numel = names[i].second;
      ASSIGN_OR_RETURN(p.squared_norm,
                       ReadNumber(s["squared_norms"][i], where + " '" + p.name + "'"));
      if (has_fp16) {
        ASSIGN_OR_RETURN(p.paper_fp16_squared_norm,
                         ReadNumber(s["fp16_squared_norms"][i], where + " '" + p.name + "'"));
      }
      sample.push_back(std::move(p));
    }
    out.samples.push_back(std::move(sample));
  }
  return out;
}

json CorrelationJson(const std::optional<analyzers::stats::Correlation>& c, double alpha) {
  if (!c) return nullptr;
  return {{"r", JsonNumber(c->r)},
          {"p_value", JsonNumber(c->p_value)},
          {"n", c->n},
          {"significant", c->p_value < alpha}};
}

json ResultJson(const infogeo::ParameterFisherResult& r, double alpha) {
  const bool paper = r.mode == infogeo::FisherMode::kPaper;
  json layers = json::array();
  for (const auto& l : r.layers) {
    json j = {{"key", l.key},
              {"layer", l.layer >= 0 ? json(l.layer) : json(nullptr)},
              {"trace", JsonNumber(l.trace)},
              {"num_parameters", l.num_parameters}};
    if (!paper) j["per_parameter_trace"] = JsonNumber(l.per_parameter_trace);
    layers.push_back(std::move(j));
  }
  json groups = json::array();
  for (const auto& g : r.groups) {
    json j = {{"name", g.name},
              {"trace", JsonNumber(g.trace)},
              {"num_parameters", g.num_parameters},
              {"num_tensors", g.num_tensors}};
    if (!paper) j["per_parameter_trace"] = JsonNumber(g.per_parameter_trace);
    groups.push_back(std::move(j));
  }
  json out = {{"quantity", r.quantity},
              {"num_samples", r.num_samples},
              {"layers", std::move(layers)},
              {"groups", std::move(groups)},
              {"total", JsonNumber(r.total)},
              {"num_parameters", r.num_parameters},
              {"ungrouped", r.ungrouped},
              {"num_nonfinite", r.num_nonfinite},
              {"layer_position_correlation",
               {{"pearson", CorrelationJson(r.layer_position_pearson, alpha)},
                {"spearman", CorrelationJson(r.layer_position_spearman, alpha)}}}};
  if (paper) {
    out["num_fp16_overflow"] = r.num_fp16_overflow;
    out["num_zero_skipped"] = r.num_zero_skipped;
    if (r.paper_consecutive) {
      const auto& w = *r.paper_consecutive;
      out["paper_consecutive_layer_correlation"] = {
          {"num_windows", w.num_windows},
          {"num_skipped", w.num_skipped},
          {"mean_r", JsonNumber(w.mean_r)},
          {"mean_p", JsonNumber(w.mean_p)},
          {"fraction_significant", JsonNumber(w.fraction_significant)}};
    } else {
      out["paper_consecutive_layer_correlation"] = nullptr;
    }
    const auto& s = *r.paper_significance;
    out["paper_statistical_significance"] = {{"significant_tests", s.significant_tests},
                                             {"total_tests", s.total_tests},
                                             {"ratio", JsonNumber(s.ratio)}};
  } else if (r.trend) {
    const auto& t = *r.trend;
    out["trend"] = {{"test", "Mann-Kendall (Kendall tau-b of F against layer, normal approx.)"},
                    {"n", t.n},
                    {"kendall_s", JsonNumber(t.kendall_s)},
                    {"tau_b", JsonNumber(t.tau_b)},
                    {"z", JsonNumber(t.z)},
                    {"p_value", JsonNumber(t.p_value)},
                    {"significant", t.p_value < alpha},
                    {"ols_slope", JsonNumber(t.ols_slope)}};
  } else {
    out["trend"] = nullptr;
  }
  return out;
}

Status RunFisher(const FisherArgs& args) {
  ASSIGN_OR_RETURN(GradientsFile grads, ReadGradients(args.file));
  infogeo::ParameterFisherOptions options;
  options.mode =
      args.mode == "paper" ? infogeo::FisherMode::kPaper : infogeo::FisherMode::kCorrected;
  options.alpha = args.alpha;
  auto result = infogeo::ComputeParameterFisher(grads.samples, options);
  if (!result.ok()) return result.status().WithContext(args.file);
  json out = {{"analyzer", "fisher"},
              {"mode", args.mode},
              {"file", args.file},
              {"model", grads.model},
              {"loss_padding", grads.loss_padding}};
  json warnings = json::array();
  if (options.mode == infogeo::FisherMode::kPaper && grads.loss_padding != "include") {
    warnings.push_back(
        "PAPER mode on gradients whose loss excluded padding; fisher.ipynb includes pads in the "
        "labels (sinkscope-run --loss-pad include)");
  }
  if (options.mode == infogeo::FisherMode::kCorrected && grads.loss_padding != "exclude") {
    warnings.push_back(
        "CORRECTED mode on gradients whose loss included padding positions; CORRECTED labels "
        "them -100 (sinkscope-run --loss-pad exclude)");
  }
  out["warnings"] = std::move(warnings);
  out.update(ResultJson(*result, args.alpha));
  PrintJson(out);
  return OkStatus();
}

}  // namespace

void AddFisherCommand(CLI::App& app) {
  auto args = std::make_shared<FisherArgs>();
  CLI::App* cmd = app.add_subcommand(
      "fisher", "layer-wise empirical Fisher trace of the parameters from gradient norms");
  cmd->add_option("GRADS", args->file, "JSON from sinkscope-run --parameter-gradients")->required();
  cmd->add_option("--mode", args->mode, "corrected (default) or paper (fisher.ipynb)")
      ->check(CLI::IsMember({"corrected", "paper"}));
  cmd->add_option("--alpha", args->alpha, "significance level (default 0.05)");
  cmd->callback([args] {
    Status s = RunFisher(*args);
    if (!s.ok()) Fail("fisher", s);
  });
}

}  // namespace sinkscope::cli
