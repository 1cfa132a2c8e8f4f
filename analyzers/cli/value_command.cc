// sinkscope-metrics value [--mode corrected|paper] [--format …] ATTENTION HIDDEN_IN HIDDEN_OUT
// sinkscope-metrics reference-point [--mode corrected|paper] [--tau T] [--format …] ATTENTION
// VECTORS
//
// `value`: attention entropy, transformation magnitude, geometric–semantic alignment and PCA
// correlation of one layer (analyzers/value/attention_value.h): the layer's attention [H, n, n]
// (or [n, n]) and its input and output residual stream [n, d]. `reference-point`: relative
// magnitude, directional guidance and reference norm (reference_point.h); VECTORS is the layer
// input [n, d] or, CORRECTED only, per-head value vectors [H_kv, n, d_head]. One JSON document
// {"analyzer": …, "mode": …, "result": {…}}; NaN → null, ±∞ → "inf"/"-inf".
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "analyzers/cli/cli_common.h"
#include "analyzers/cli/commands.h"
#include "analyzers/value/attention_value.h"
#include "analyzers/value/reference_point.h"

namespace sinkscope::cli {
namespace {

namespace value = analyzers::value;
using nlohmann::json;

struct ValueArgs {
  std::string attention, hidden_in, hidden_out, vectors;
  std::string mode = "corrected";
  double tau = 0.1;
  std::string format;
};

json CorrelationJson(const value::CorrelationValue& c) {
  return {{"pearson", JsonNumber(c.pearson)},
          {"pearson_p", JsonNumber(c.pearson_p)},
          {"spearman", JsonNumber(c.spearman)},
          {"spearman_p", JsonNumber(c.spearman_p)},
          {"n", c.n},
          {"degenerate", c.degenerate}};
}

Status RunValue(const ValueArgs& args) {
  ASSIGN_OR_RETURN(analyzers::Mode mode, analyzers::ParseMode(args.mode));
  ASSIGN_OR_RETURN(at::Tensor a, ReadAttentionFile(args.attention, args.format));
  ASSIGN_OR_RETURN(at::Tensor x, ReadVectorsFile(args.hidden_in, args.format));
  ASSIGN_OR_RETURN(at::Tensor y, ReadVectorsFile(args.hidden_out, args.format));
  json out = {{"analyzer", "value"},
              {"mode", std::string(analyzers::ModeName(mode))},
              {"files", {args.attention, args.hidden_in, args.hidden_out}}};
  if (mode == analyzers::Mode::kCorrected) {
    ASSIGN_OR_RETURN(value::AttentionValueResult r, value::ComputeAttentionValue(a, x, y));
    out["result"] = {
        {"num_tokens", r.num_tokens},
        {"num_heads", r.num_heads},
        {"causal", r.causal},
        {"valid", r.valid},
        {"attention_health", HealthJson(r.attention_health)},
        {"hidden_health", HealthJson(r.hidden_health)},
        {"num_rows", r.num_rows},
        {"entropy", JsonNumbers(r.entropy)},
        {"entropy_mean", JsonNumber(r.entropy_mean)},
        {"normalized_entropy_mean", JsonNumber(r.normalized_entropy_mean)},
        {"head_entropy_mean", JsonNumbers(r.head_entropy_mean)},
        {"magnitude", JsonNumbers(r.magnitude)},
        {"magnitude_mean", JsonNumber(r.magnitude_mean)},
        {"magnitude_mean_without_sinks", JsonNumber(r.magnitude_mean_without_sinks)},
        {"relative_update", JsonNumbers(r.relative_update)},
        {"relative_update_mean", JsonNumber(r.relative_update_mean)},
        {"relative_update_mean_without_sinks", JsonNumber(r.relative_update_mean_without_sinks)},
        {"gs_allowed_pairs", CorrelationJson(r.gs_allowed_pairs)},
        {"gs_without_sinks", CorrelationJson(r.gs_without_sinks)},
        {"gs_per_head_mean", JsonNumber(r.gs_per_head_mean)},
        {"num_degenerate_heads", r.num_degenerate_heads},
        {"entropy_magnitude", CorrelationJson(r.entropy_magnitude)},
        {"pca_abs_correlations", JsonNumbers(r.pca_abs_correlations)}};
  } else {
    ASSIGN_OR_RETURN(value::PaperAttentionValueResult r,
                     value::ComputePaperAttentionValue(a, x, y));
    out["result"] = {
        {"num_tokens", r.num_tokens},
        {"attention_health", HealthJson(r.attention_health)},
        {"hidden_health", HealthJson(r.hidden_health)},
        {"paper_entropy", JsonNumbers(r.paper_entropy)},
        {"paper_entropy_mean", JsonNumber(r.paper_entropy_mean)},
        {"paper_entropy_std", JsonNumber(r.paper_entropy_std)},
        {"paper_magnitude", JsonNumbers(r.paper_magnitude)},
        {"paper_magnitude_mean", JsonNumber(r.paper_magnitude_mean)},
        {"paper_magnitude_std", JsonNumber(r.paper_magnitude_std)},
        {"paper_rescale_triggered", r.paper_rescale_triggered},
        {"paper_geometric_semantic_correlation",
         JsonNumber(r.paper_geometric_semantic_correlation)},
        {"paper_entropy_magnitude_correlation", JsonNumber(r.paper_entropy_magnitude_correlation)},
        {"paper_pca_k", r.paper_pca_k},
        {"paper_pca_abs_correlations", JsonNumbers(r.paper_pca_abs_correlations)},
        {"paper_pca_average_correlation", JsonNumber(r.paper_pca_average_correlation)}};
  }
  PrintJson(out);
  return OkStatus();
}

Status RunReferencePoint(const ValueArgs& args) {
  ASSIGN_OR_RETURN(analyzers::Mode mode, analyzers::ParseMode(args.mode));
  ASSIGN_OR_RETURN(at::Tensor a, ReadAttentionFile(args.attention, args.format));
  ASSIGN_OR_RETURN(at::Tensor v, ReadVectorsFile(args.vectors, args.format));
  value::ReferencePointOptions options;
  options.tau = args.tau;
  json out = {{"analyzer", "reference-point"},
              {"mode", std::string(analyzers::ModeName(mode))},
              {"files", {args.attention, args.vectors}},
              {"tau", args.tau}};
  if (mode == analyzers::Mode::kCorrected) {
    ASSIGN_OR_RETURN(value::ReferencePointResult r, value::ComputeReferencePoint(a, v, options));
    json heads = json::array();
    for (const auto& h : r.heads) {
      heads.push_back({{"head", HeadJson(h.head)},
                       {"relative_magnitude_mean", JsonNumber(h.relative_magnitude_mean)},
                       {"directional_guidance_mean", JsonNumber(h.directional_guidance_mean)},
                       {"reference_norm_mean", JsonNumber(h.reference_norm_mean)},
                       {"structural_importance_mean", JsonNumber(h.structural_importance_mean)}});
    }
    out["result"] = {{"causal", r.causal},
                     {"valid", r.valid},
                     {"attention_health", HealthJson(r.attention_health)},
                     {"vector_health", HealthJson(r.vector_health)},
                     {"reference_tokens", r.reference_tokens},
                     {"received_attention", JsonNumbers(r.received_attention)},
                     {"num_tokens_measured", r.num_tokens_measured},
                     {"heads", std::move(heads)}};
  } else {
    ASSIGN_OR_RETURN(value::PaperReferencePointResult r,
                     value::ComputePaperReferencePoint(a, v, options));
    out["result"] = {
        {"attention_health", HealthJson(r.attention_health)},
        {"hidden_health", HealthJson(r.hidden_health)},
        {"paper_reference_tokens", r.paper_reference_tokens},
        {"paper_column_mean_attention", JsonNumbers(r.paper_column_mean_attention)},
        {"paper_relative_magnitude", JsonNumbers(r.paper_relative_magnitude)},
        {"paper_directional_influence", JsonNumbers(r.paper_directional_influence)},
        {"paper_information_content_change", JsonNumbers(r.paper_information_content_change)},
        {"paper_relative_magnitude_mean", JsonNumber(r.paper_relative_magnitude_mean)},
        {"paper_directional_influence_mean", JsonNumber(r.paper_directional_influence_mean)},
        {"paper_information_content_change_mean",
         JsonNumber(r.paper_information_content_change_mean)},
        {"paper_relative_magnitude_mean_without_reference",
         JsonNumber(r.paper_relative_magnitude_mean_without_reference)},
        {"paper_directional_influence_mean_without_reference",
         JsonNumber(r.paper_directional_influence_mean_without_reference)},
        {"paper_information_content_change_mean_without_reference",
         JsonNumber(r.paper_information_content_change_mean_without_reference)}};
  }
  PrintJson(out);
  return OkStatus();
}

}  // namespace

void AddValueCommands(CLI::App& app) {
  auto args = std::make_shared<ValueArgs>();
  CLI::App* cmd = app.add_subcommand(
      "value", "attention entropy, transformation magnitude and geometric-semantic alignment");
  cmd->add_option("ATTENTION", args->attention, "attention [H, n, n] (.npy) or [n, n]")->required();
  cmd->add_option("HIDDEN_IN", args->hidden_in, "layer input residual stream [n, d]")->required();
  cmd->add_option("HIDDEN_OUT", args->hidden_out, "layer output residual stream [n, d]")
      ->required();
  cmd->add_option("--mode", args->mode, "corrected (default) or paper (attention_value.ipynb)")
      ->check(CLI::IsMember({"corrected", "paper"}));
  cmd->add_option("--format", args->format, "npy or csv (default: by extension)");
  cmd->callback([args] {
    Status s = RunValue(*args);
    if (!s.ok()) Fail("value", s);
  });

  auto rargs = std::make_shared<ValueArgs>();
  CLI::App* ref = app.add_subcommand("reference-point",
                                     "relative magnitude, directional guidance and reference norm");
  ref->add_option("ATTENTION", rargs->attention, "attention [H, n, n] (.npy) or [n, n]")
      ->required();
  ref->add_option("VECTORS", rargs->vectors,
                  "layer input [n, d], or per-head value vectors [H_kv, n, d_head] (corrected)")
      ->required();
  ref->add_option("--mode", rargs->mode, "corrected (default) or paper (reference_point.ipynb)")
      ->check(CLI::IsMember({"corrected", "paper"}));
  ref->add_option("--tau", rargs->tau, "reference threshold τ (default 0.1)");
  ref->add_option("--format", rargs->format, "npy or csv (default: by extension)");
  ref->callback([rargs] {
    Status s = RunReferencePoint(*rargs);
    if (!s.ok()) Fail("reference-point", s);
  });
}

}  // namespace sinkscope::cli
