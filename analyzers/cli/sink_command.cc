// sinkscope-metrics sink [--mode corrected|paper] [--epsilon E] [--sink-key K]
//                        [--format …] LAYER_FILE…
// sinkscope-metrics massive [--absolute A] [--ratio R] [--format …] HIDDEN_FILE
//
// `sink`: the sink family (analyzers/sink) on one sentence's attention, one file per layer in
// layer order, each [H, n, n] (a 3-D .npy) or [n, n]. CORRECTED: first-token mass, Gu et al.'s α
// and Sink_ε, first-vs-others ratio, progression, each head's sink key; PAPER: the Attention Sink
// Analyzer script's measures. `massive`: massive activations of hidden states [n, d] or
// [L, n, d]. One JSON document: {"analyzer": …, "mode": …, …}; NaN → null, ±∞ → "inf"/"-inf".
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyzers/cli/cli_common.h"
#include "analyzers/cli/commands.h"
#include "analyzers/common/positions.h"
#include "analyzers/sink/massive_activations.h"
#include "analyzers/sink/paper_sink_metrics.h"
#include "analyzers/sink/sink_metrics.h"

namespace sinkscope::cli {
namespace {

namespace sink = analyzers::sink;
using nlohmann::json;

struct SinkArgs {
  std::vector<std::string> files;
  std::string mode = "corrected";
  double epsilon = 0.3;
  int64_t sink_key = 0;
  std::string format;
};

json CorrectedJson(const sink::SinkResult& r) {
  json layers = json::array();
  for (const auto& layer : r.layers) {
    json heads = json::array();
    for (const auto& h : layer.heads) {
      heads.push_back({{"head", HeadJson(h.head)},
                       {"valid", h.valid},
                       {"health", HealthJson(h.health)},
                       {"first_token_mass", JsonNumber(h.first_token_mass)},
                       {"first_vs_others_ratio", JsonNumber(h.first_vs_others_ratio)},
                       {"sink_key_importance", JsonNumber(h.sink_key_importance)},
                       {"is_sink_head", h.is_sink_head},
                       {"top_key", h.top_key},
                       {"top_key_importance", JsonNumber(h.top_key_importance)},
                       {"top_key_class", std::string(PositionClassName(h.top_key_class))}});
    }
    layers.push_back({{"layer", layer.layer},
                      {"sink_rate_percent", JsonNumber(layer.sink_rate_percent)},
                      {"key_importance", JsonNumbers(layer.key_importance)},
                      {"heads", std::move(heads)}});
  }
  return {
      {"num_layers", r.num_layers},
      {"num_heads", r.num_heads},
      {"num_tokens", r.num_tokens},
      {"causal", r.causal},
      {"epsilon", r.epsilon},
      {"sink_key", r.sink_key},
      {"sink_rate_percent", JsonNumber(r.sink_rate_percent)},
      {"avg_first_token_percent", JsonNumber(r.avg_first_token_percent)},
      {"max_layer_first_token_percent", JsonNumber(r.max_layer_first_token_percent)},
      {"max_layer", r.max_layer},
      {"max_head_first_token_percent", JsonNumber(r.max_head_first_token_percent)},
      {"max_head_layer", r.max_head_layer},
      {"max_head", r.max_head},
      {"progression_slope_percent_per_layer", JsonNumber(r.progression_slope_percent_per_layer)},
      {"progression_last_minus_first", JsonNumber(r.progression_last_minus_first)},
      {"num_invalid", r.num_invalid},
      {"layers", std::move(layers)}};
}

json PaperJson(const sink::PaperSinkResult& r) {
  return {{"num_layers", r.num_layers},
          {"num_heads", r.num_heads},
          {"num_tokens", r.num_tokens},
          {"valid", r.valid},
          {"health", HealthJson(r.health)},
          {"paper_avg_first_token_attention", JsonNumber(r.paper_avg_first_token_attention)},
          {"paper_max_first_token_attention", JsonNumber(r.paper_max_first_token_attention)},
          {"paper_min_first_token_attention", JsonNumber(r.paper_min_first_token_attention)},
          {"paper_layer_progression", JsonNumbers(r.paper_layer_progression)},
          {"paper_first_layer_avg", JsonNumber(r.paper_first_layer_avg)},
          {"paper_last_layer_avg", JsonNumber(r.paper_last_layer_avg)},
          {"paper_progression_increase", JsonNumber(r.paper_progression_increase)},
          {"paper_attention_distribution", JsonNumbers(r.paper_attention_distribution)},
          {"paper_first_vs_avg_ratio", JsonNumber(r.paper_first_vs_avg_ratio)},
          {"paper_sink_strength", JsonNumber(r.paper_sink_strength)}};
}

Status RunSink(const SinkArgs& args) {
  ASSIGN_OR_RETURN(analyzers::Mode mode, analyzers::ParseMode(args.mode));
  ASSIGN_OR_RETURN(at::Tensor attention, ReadLayerStack(args.files, args.format));
  json out = {{"analyzer", "sink"},
              {"mode", std::string(analyzers::ModeName(mode))},
              {"files", args.files}};
  if (mode == analyzers::Mode::kCorrected) {
    sink::SinkOptions options;
    options.epsilon = args.epsilon;
    options.sink_key = args.sink_key;
    ASSIGN_OR_RETURN(sink::SinkResult r, sink::ComputeSinkMetrics(attention, options));
    out["result"] = CorrectedJson(r);
  } else {
    ASSIGN_OR_RETURN(sink::PaperSinkResult r, sink::ComputePaperSinkMetrics(attention));
    out["result"] = PaperJson(r);
  }
  PrintJson(out);
  return OkStatus();
}

struct MassiveArgs {
  std::string file;
  double absolute = 100.0;
  double ratio = 1000.0;
  std::string format;
};

Status RunMassive(const MassiveArgs& args) {
  ASSIGN_OR_RETURN(at::Tensor hidden, ReadVectorsFile(args.file, args.format));
  sink::MassiveActivationOptions options;
  options.absolute_threshold = args.absolute;
  options.median_ratio = args.ratio;
  auto r = sink::FindMassiveActivations(hidden, options);
  if (!r.ok()) return r.status().WithContext(args.file);
  json found = json::array();
  for (const auto& a : r->activations) {
    found.push_back({{"layer", a.layer},
                     {"token", a.token},
                     {"dim", a.dim},
                     {"value", JsonNumber(a.value)},
                     {"token_median_magnitude", JsonNumber(a.token_median_magnitude)}});
  }
  json health = json::array();
  for (const auto& h : r->health_per_layer) health.push_back(HealthJson(h));
  PrintJson({{"analyzer", "massive"},
             {"file", args.file},
             {"absolute_threshold", options.absolute_threshold},
             {"median_ratio", options.median_ratio},
             {"num_layers", r->num_layers},
             {"num_tokens", r->num_tokens},
             {"hidden_size", r->hidden_size},
             {"count_per_layer", r->count_per_layer},
             {"max_magnitude_per_layer", JsonNumbers(r->max_magnitude_per_layer)},
             {"max_token_per_layer", r->max_token_per_layer},
             {"max_dim_per_layer", r->max_dim_per_layer},
             {"health_per_layer", std::move(health)},
             {"activations", std::move(found)}});
  return OkStatus();
}

}  // namespace

void AddSinkCommands(CLI::App& app) {
  auto args = std::make_shared<SinkArgs>();
  CLI::App* cmd = app.add_subcommand(
      "sink", "attention-sink metrics of one sentence (one attention file per layer, in order)");
  cmd->add_option("FILE", args->files, "attention per layer: [H, n, n] .npy or [n, n]")->required();
  cmd->add_option("--mode", args->mode, "corrected (default) or paper (the explorer script)")
      ->check(CLI::IsMember({"corrected", "paper"}));
  cmd->add_option("--epsilon", args->epsilon, "ε of Sink_ε and the sink-head flag (default 0.3)");
  cmd->add_option("--sink-key", args->sink_key, "key whose sink rate is reported (default 0)");
  cmd->add_option("--format", args->format, "npy, csv, distance (default: by extension)");
  cmd->callback([args] {
    Status s = RunSink(*args);
    if (!s.ok()) Fail("sink", s);
  });

  auto margs = std::make_shared<MassiveArgs>();
  CLI::App* massive = app.add_subcommand(
      "massive", "massive activations (|h| > 100 and > 1000 x the token's median |h|)");
  massive->add_option("FILE", margs->file, "hidden states [n, d] or [L, n, d] (.npy)")->required();
  massive->add_option("--absolute", margs->absolute, "absolute threshold (default 100)");
  massive->add_option("--ratio", margs->ratio, "ratio to the token's median |h| (default 1000)");
  massive->add_option("--format", margs->format, "npy or csv (default: by extension)");
  massive->callback([margs] {
    Status s = RunMassive(*margs);
    if (!s.ok()) Fail("massive", s);
  });
}

}  // namespace sinkscope::cli
