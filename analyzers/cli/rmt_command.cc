// sinkscope-metrics rmt [--mode corrected|paper] [--heads mean|heads|heads+mean]
//                       [--aspect-ratio G] [--options JSON|@file] [--format …] FILE…
//
// The rmt family (analyzers/rmt/, docs/rmt.md) on attention matrices from files: [n, n], or a
// layer's heads [H, n, n] from a 3-D .npy. Prints one JSON object on stdout:
//   {"analyzer": "rmt", "mode": …, "files": [{"file", "n", "num_heads", "heads", parameters…,
//    "matrices": [{"head": 0 | … | "mean", "valid", "health", …metrics}]}]}
// NaN is written as null and ±∞ as "inf"/"-inf". --heads defaults to heads+mean (CORRECTED) or
// mean (PAPER, the notebook's aggregate). Options (JSON object): CORRECTED aspect_ratio,
// mp_variance, causal_mask ("auto"/"causal"/"dense"), mp_bins, kl_epsilon, sink_top_fraction,
// max_n, max_elements; PAPER max_n, max_elements (its γ is fixed at 0.99). --aspect-ratio
// overrides the option of that name.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyzers/cli/cli_common.h"
#include "analyzers/cli/commands.h"
#include "analyzers/common/attention_matrices.h"
#include "analyzers/rmt/paper_rmt.h"
#include "analyzers/rmt/rmt.h"

namespace sinkscope::cli {
namespace {

namespace rmt = analyzers::rmt;
using analyzers::HeadSelection;
using analyzers::InputHealth;
using analyzers::Mode;
using nlohmann::json;

struct RmtArgs {
  std::vector<std::string> files;
  std::string mode = "corrected";
  std::string heads;
  std::string aspect_ratio;
  std::string options;
  std::string format;
};

void AddHealth(const InputHealth& h, bool valid, json& out) {
  out["valid"] = valid;
  out["health"] = HealthJson(h);
}

json CorrectedMatrixJson(const rmt::RmtMatrixResult& r) {
  json m;
  m["head"] = HeadJson(r.head);
  AddHealth(r.health, r.valid, m);
  m["singular_values"] = JsonNumbers(r.singular_values);
  m["spectral_gap_ratio"] = JsonNumber(r.spectral_gap_ratio);
  m["singular_gap_difference"] = JsonNumber(r.singular_gap_difference);
  m["participation_ratio"] = JsonNumber(r.participation_ratio);
  m["stable_rank"] = JsonNumber(r.stable_rank);
  m["sink_top_k"] = r.sink_top_k;
  m["sink_concentration"] = JsonNumber(r.sink_concentration);
  m["sink_top_column"] = r.sink_top_column;
  m["sink_top_column_share"] = JsonNumber(r.sink_top_column_share);
  m["mean_row_entropy_bits"] = JsonNumber(r.mean_row_entropy_bits);
  json mp;
  mp["defined"] = r.mp.defined;
  mp["causal"] = r.causal;
  mp["num_unmasked"] = r.num_unmasked;
  mp["standardize_mean"] = JsonNumber(r.standardize_mean);
  mp["standardize_std"] = JsonNumber(r.standardize_std);
  mp["gamma"] = JsonNumber(r.mp.gamma);
  mp["variance"] = JsonNumber(r.mp.variance);
  mp["variance_fitted"] = r.mp.variance_fitted;
  mp["lower_edge"] = JsonNumber(r.mp.lower_edge);
  mp["upper_edge"] = JsonNumber(r.mp.upper_edge);
  mp["kl"] = JsonNumber(r.mp.kl);
  mp["ks"] = JsonNumber(r.mp.ks);
  mp["w1"] = JsonNumber(r.mp.w1);
  mp["num_above_upper_edge"] = r.mp.num_above_upper_edge;
  mp["bins"] = r.mp.bins;
  mp["eigenvalues"] = JsonNumbers(r.mp_eigenvalues);
  m["marchenko_pastur"] = std::move(mp);
  return m;
}

json PaperMatrixJson(const rmt::PaperRmtMatrixResult& r) {
  json m;
  m["head"] = HeadJson(r.head);
  AddHealth(r.health, r.valid, m);
  m["paper_sink_concentration"] = JsonNumber(r.paper_sink_concentration);
  m["paper_entropy"] = JsonNumber(r.paper_entropy);
  m["paper_spectral_gap"] = JsonNumber(r.paper_spectral_gap);
  m["paper_participation_ratio"] = JsonNumber(r.paper_participation_ratio);
  m["paper_stable_rank"] = JsonNumber(r.paper_stable_rank);
  m["paper_marchenko_pastur_kl"] = JsonNumber(r.paper_marchenko_pastur_kl);
  m["paper_top_eigenvalue_magnitudes"] = JsonNumbers(r.paper_top_eigenvalue_magnitudes);
  return m;
}

StatusOr<rmt::RmtOptions> CorrectedOptions(const json& o, const RmtArgs& args) {
  RETURN_IF_ERROR(CheckOptionKeys(o, {"aspect_ratio", "mp_variance", "causal_mask", "mp_bins",
                                      "kl_epsilon", "sink_top_fraction", "max_n", "max_elements"}));
  rmt::RmtOptions options;
  if (o.contains("aspect_ratio")) {
    double g = 0;
    RETURN_IF_ERROR(ReadOption(o, "aspect_ratio", g));
    options.aspect_ratio = g;
  }
  if (o.contains("mp_variance")) {
    double v = 0;
    RETURN_IF_ERROR(ReadOption(o, "mp_variance", v));
    options.mp_variance = v;
  }
  std::string mask = "auto";
  RETURN_IF_ERROR(ReadOption(o, "causal_mask", mask));
  ASSIGN_OR_RETURN(options.causal_mask, rmt::ParseCausalMask(mask));
  RETURN_IF_ERROR(ReadOption(o, "mp_bins", options.mp_bins));
  RETURN_IF_ERROR(ReadOption(o, "kl_epsilon", options.kl_epsilon));
  RETURN_IF_ERROR(ReadOption(o, "sink_top_fraction", options.sink_top_fraction));
  RETURN_IF_ERROR(ReadOption(o, "max_n", options.max_n));
  RETURN_IF_ERROR(ReadOption(o, "max_elements", options.max_elements));
  if (!args.aspect_ratio.empty()) {
    try {
      size_t used = 0;
      options.aspect_ratio = std::stod(args.aspect_ratio, &used);
      if (used != args.aspect_ratio.size()) throw std::invalid_argument("trailing text");
    } catch (const std::exception&) {
      return InvalidArgumentError("--aspect-ratio '{}' is not a number", args.aspect_ratio);
    }
  }
  return options;
}

StatusOr<rmt::PaperRmtOptions> PaperOptions(const json& o, const RmtArgs& args) {
  if (!args.aspect_ratio.empty()) {
    return InvalidArgumentError(
        "--aspect-ratio applies to --mode corrected; paper mode fixes "
        "gamma = {} as rmt.ipynb does",
        rmt::kPaperMarchenkoPasturGamma);
  }
  RETURN_IF_ERROR(CheckOptionKeys(o, {"max_n", "max_elements"}));
  rmt::PaperRmtOptions options;
  RETURN_IF_ERROR(ReadOption(o, "max_n", options.max_n));
  RETURN_IF_ERROR(ReadOption(o, "max_elements", options.max_elements));
  return options;
}

Status RunRmt(const RmtArgs& args) {
  ASSIGN_OR_RETURN(Mode mode, analyzers::ParseMode(args.mode));
  ASSIGN_OR_RETURN(json raw_options, ParseOptionsJson(args.options));
  HeadSelection heads =
      mode == Mode::kPaper ? HeadSelection::kHeadMean : HeadSelection::kPerHeadAndMean;
  if (!args.heads.empty()) {
    ASSIGN_OR_RETURN(heads, analyzers::ParseHeadSelection(args.heads));
  }
  json out;
  out["analyzer"] = "rmt";
  out["mode"] = std::string(analyzers::ModeName(mode));
  out["files"] = json::array();
  for (const std::string& file : args.files) {
    auto attention = ReadAttentionFile(file, args.format);
    if (!attention.ok()) return attention.status();
    json f;
    f["file"] = file;
    f["heads"] = std::string(analyzers::HeadSelectionName(heads));
    f["matrices"] = json::array();
    if (mode == Mode::kCorrected) {
      ASSIGN_OR_RETURN(rmt::RmtOptions options, CorrectedOptions(raw_options, args));
      options.heads = heads;
      auto result = rmt::ComputeRmt(*attention, options);
      if (!result.ok()) return result.status().WithContext(file);
      f["n"] = result->n;
      f["num_heads"] = result->num_heads;
      f["aspect_ratio"] = JsonNumber(result->aspect_ratio);
      f["causal_mask"] = std::string(rmt::CausalMaskName(result->causal_mask));
      f["mp_bins"] = result->mp_bins;
      f["kl_epsilon"] = JsonNumber(result->kl_epsilon);
      f["sink_top_fraction"] = JsonNumber(result->sink_top_fraction);
      for (const auto& m : result->matrices) f["matrices"].push_back(CorrectedMatrixJson(m));
    } else {
      ASSIGN_OR_RETURN(rmt::PaperRmtOptions options, PaperOptions(raw_options, args));
      options.heads = heads;
      auto result = rmt::ComputePaperRmt(*attention, options);
      if (!result.ok()) return result.status().WithContext(file);
      f["n"] = result->n;
      f["num_heads"] = result->num_heads;
      f["paper_mp_gamma"] = JsonNumber(result->paper_mp_gamma);
      f["paper_top_eigenvalues"] = result->paper_top_eigenvalues;
      f["paper_histogram_bins"] = result->paper_histogram_bins;
      for (const auto& m : result->matrices) f["matrices"].push_back(PaperMatrixJson(m));
    }
    out["files"].push_back(std::move(f));
  }
  PrintJson(out);
  return OkStatus();
}

}  // namespace

void AddRmtCommand(CLI::App& app) {
  auto args = std::make_shared<RmtArgs>();
  CLI::App* cmd = app.add_subcommand(
      "rmt", "singular-value spectra, Marchenko-Pastur fit, sink concentration, row entropy");
  cmd->add_option("FILE", args->files, "attention files ([n,n] or a 3-D .npy of heads)")
      ->required();
  cmd->add_option("--mode", args->mode, "corrected (default) or paper")
      ->check(CLI::IsMember({"corrected", "paper"}));
  cmd->add_option("--heads", args->heads,
                  "mean, heads or heads+mean (default: heads+mean; paper: mean)")
      ->check(CLI::IsMember({"mean", "heads", "heads+mean"}));
  cmd->add_option("--aspect-ratio", args->aspect_ratio,
                  "gamma = n/m of the Marchenko-Pastur law (corrected mode; default 1)");
  cmd->add_option("--options", args->options, "JSON object of options, or @file");
  cmd->add_option("--format", args->format,
                  "npy, csv, distance or lower-distance (default: by "
                  "extension)")
      ->check(CLI::IsMember({"lower-distance", "distance", "csv", "npy"}));
  cmd->callback([args] {
    Status s = RunRmt(*args);
    if (!s.ok()) Fail("rmt", s);
  });
}

}  // namespace sinkscope::cli
