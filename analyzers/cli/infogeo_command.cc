// sinkscope-metrics kl [--mode corrected|paper] [--taus 0.1,0.3 | --bos-sink] [--format …] FILE…
//
// Inter-head KL divergence and sink removal (analyzers/infogeo) for each layer file, [H, n, n]
// (a 3-D .npy) or [n, n]; also the attention-logit Fisher trace 1 − ‖p‖² per head and head mean.
// CORRECTED: absolute sinks (mean received attention ≥ τ) or --bos-sink; PAPER: KL.ipynb's
// percentile sinks at t = 0.8, 0.9, 0.95 with its 20-row subsample. One JSON document
// {"analyzer": "kl", "mode": …, "files": [{"file", …}]}; NaN → null, ±∞ → "inf"/"-inf".
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyzers/cli/cli_common.h"
#include "analyzers/cli/commands.h"
#include "analyzers/infogeo/kl_divergence.h"

namespace sinkscope::cli {
namespace {

namespace infogeo = analyzers::infogeo;
using nlohmann::json;

struct KlArgs {
  std::vector<std::string> files;
  std::string mode = "corrected";
  std::vector<double> taus;
  bool bos_sink = false;
  std::string format;
};

json CorrectedJson(const infogeo::KlResult& r) {
  json removals = json::array();
  for (const auto& k : r.removals) {
    removals.push_back(
        {{"tau", JsonNumber(k.tau)},
         {"sinks", k.sinks},
         {"num_rows_kept", k.num_rows_kept},
         {"num_rows_dropped", k.num_rows_dropped},
         {"kl_with_sinks", JsonNumbers(k.kl_with_sinks)},
         {"kl_without_sinks", JsonNumbers(k.kl_without_sinks)},
         {"avg_kl_reduction", JsonNumber(k.avg_kl_reduction)},
         {"sink_removal_information_loss", JsonNumber(k.sink_removal_information_loss)},
         {"mean_sink_mass", JsonNumber(k.mean_sink_mass)}});
  }
  return {{"num_heads", r.num_heads},
          {"num_tokens", r.num_tokens},
          {"causal", r.causal},
          {"valid", r.valid},
          {"health", HealthJson(r.health)},
          {"num_rows", r.num_rows},
          {"kl_to_head_mean", JsonNumbers(r.kl_to_head_mean)},
          {"generalized_js_divergence", JsonNumber(r.generalized_js_divergence)},
          {"kl_to_uniform", JsonNumber(r.kl_to_uniform)},
          {"removals", std::move(removals)}};
}

json PaperJson(const infogeo::PaperKlResult& r) {
  json thresholds = json::array();
  for (const auto& t : r.thresholds) {
    thresholds.push_back(
        {{"threshold", t.threshold},
         {"paper_sinks", t.paper_sinks},
         {"paper_sink_attention_percentage", JsonNumber(t.paper_sink_attention_percentage)},
         {"paper_avg_sink_concentration", JsonNumber(t.paper_avg_sink_concentration)},
         {"paper_kl_without_sinks", JsonNumbers(t.paper_kl_without_sinks)},
         {"paper_kl_reduction", JsonNumbers(t.paper_kl_reduction)},
         {"paper_avg_kl_reduction", JsonNumber(t.paper_avg_kl_reduction)}});
  }
  return {{"num_heads", r.num_heads},
          {"num_tokens", r.num_tokens},
          {"valid", r.valid},
          {"health", HealthJson(r.health)},
          {"paper_rows", r.paper_rows},
          {"paper_kl_to_avg", JsonNumbers(r.paper_kl_to_avg)},
          {"paper_avg_kl_divergence", JsonNumber(r.paper_avg_kl_divergence)},
          {"paper_max_kl_divergence", JsonNumber(r.paper_max_kl_divergence)},
          {"paper_min_kl_divergence", JsonNumber(r.paper_min_kl_divergence)},
          {"thresholds", std::move(thresholds)}};
}

json FisherJson(const infogeo::AttentionFisherResult& r) {
  json heads = json::array();
  for (size_t i = 0; i < r.heads.size(); ++i) {
    heads.push_back({{"head", HeadJson(r.heads[i])},
                     {"fisher_trace", JsonNumber(r.fisher_trace[i])},
                     {"health", HealthJson(r.health[i])}});
  }
  return heads;
}

Status RunKl(const KlArgs& args) {
  ASSIGN_OR_RETURN(analyzers::Mode mode, analyzers::ParseMode(args.mode));
  json out = {{"analyzer", "kl"}, {"mode", std::string(analyzers::ModeName(mode))}};
  out["files"] = json::array();
  for (const std::string& file : args.files) {
    ASSIGN_OR_RETURN(at::Tensor attention, ReadAttentionFile(file, args.format));
    json f;
    if (mode == analyzers::Mode::kCorrected) {
      infogeo::KlOptions options;
      if (args.bos_sink) options.sink_rule = infogeo::SinkSetRule::kFirstToken;
      if (!args.taus.empty()) options.taus = args.taus;
      auto r = infogeo::ComputeKlSinks(attention, options);
      if (!r.ok()) return r.status().WithContext(file);
      f = CorrectedJson(*r);
    } else {
      auto r = infogeo::ComputePaperKlSinks(attention);
      if (!r.ok()) return r.status().WithContext(file);
      f = PaperJson(*r);
    }
    auto fisher = infogeo::ComputeAttentionFisher(attention);
    if (!fisher.ok()) return fisher.status().WithContext(file);
    f["attention_fisher"] = FisherJson(*fisher);
    f["file"] = file;
    out["files"].push_back(std::move(f));
  }
  PrintJson(out);
  return OkStatus();
}

}  // namespace

void AddKlCommand(CLI::App& app) {
  auto args = std::make_shared<KlArgs>();
  CLI::App* cmd = app.add_subcommand(
      "kl", "inter-head KL divergence, sink removal and the attention-logit Fisher trace");
  cmd->add_option("FILE", args->files, "attention files ([n,n] or a 3-D .npy of heads)")
      ->required();
  cmd->add_option("--mode", args->mode, "corrected (default) or paper (KL.ipynb)")
      ->check(CLI::IsMember({"corrected", "paper"}));
  cmd->add_option("--taus", args->taus, "absolute sink thresholds τ (default 0.1 0.3)")
      ->delimiter(',');
  cmd->add_flag("--bos-sink", args->bos_sink, "the sink is position 0 (BOS) instead of τ rules");
  cmd->add_option("--format", args->format, "npy, csv, distance (default: by extension)");
  cmd->callback([args] {
    Status s = RunKl(*args);
    if (!s.ok()) Fail("kl", s);
  });
}

}  // namespace sinkscope::cli
