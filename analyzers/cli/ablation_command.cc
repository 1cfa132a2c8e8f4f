// sinkscope-metrics ablation-effect BASE.safetensors[:PREFIX] ABLATED.safetensors[:PREFIX]
//                                  --layer L [--token T] [--causality detect|causal|bidirectional]
// sinkscope-metrics mlp-subspace RUN.safetensors --layer L [--token T] [--rank R] [--center]
//                                [--out DIRECTIONS.npy]
// sinkscope-metrics mlp-subspace VECTORS (.npy [S, D] or FILE.safetensors:NAME) [--others …]
// sinkscope-metrics mlp-attribution RUN.safetensors[:PREFIX] --layer L [--tokens 0,1] [--top-k K]
//
// The MLP-output ablation experiment of spec sinks-frames-decomposition §3 from the command line:
//   sinkscope-run --capture mlp_out --text … --text … --out run.safetensors      (several inputs)
//   sinkscope-metrics mlp-subspace run.safetensors --layer 2 --token 0 --out dirs.npy
//   sinkscope-run --capture attention,hidden_in --text … --out base.safetensors
//   sinkscope-run … --mlp-ablate-directions dirs.npy --mlp-layers 2 --mlp-tokens 0
//                 --out ablated.safetensors
//   sinkscope-metrics ablation-effect base.safetensors ablated.safetensors --layer 2 --token 0
//
// `ablation-effect` reads `PREFIX.layers.<l>.attention` (and `hidden_in` when both captures have
// it) for l = L, L+1, … of two sinkscope-run captures of the same input and reports, per layer and
// head, α_T and first-token mass of both runs and their change, max |ΔA|, and ‖Δh_T‖/‖h_T‖
// (analyzers/decomposition/ablation_effect.h); layer L is the control (its change must be 0).
// `mlp-subspace` takes the MLP output of token T at layer L from every sentence of a capture
// (`sentences.<i>.layers.<L>.mlp_out`, or `layers.<L>.mlp_out` for one input), computes the SVD
// (ComputeMlpSubspace) and writes the top-r directions as a float32 .npy [r, D] that
// sinkscope-run's --mlp-ablate-directions reads back. Other tokens' outputs are projected onto
// the subspace. JSON on stdout as the other subcommands; errors on stderr with exit status 1.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyzers/cli/cli_common.h"
#include "analyzers/cli/commands.h"
#include "analyzers/decomposition/ablation_effect.h"
#include "analyzers/decomposition/decomposition.h"
#include "analyzers/decomposition/mlp_attribution.h"
#include "core/torch_call.h"
#include "models/formats/checkpoint.h"

namespace sinkscope::cli {
namespace {

namespace dec = analyzers::decomposition;
using nlohmann::json;

/// "run.safetensors" or "run.safetensors:sentences.2" → the file and the name prefix ("" or
/// "sentences.2.").
struct CaptureSpec {
  std::string file;
  std::string prefix;
};

StatusOr<CaptureSpec> ParseCaptureSpec(const std::string& spec) {
  const std::string marker = ".safetensors";
  const size_t split = spec.rfind(marker + ":");
  if (split != std::string::npos) {
    CaptureSpec c{spec.substr(0, split + marker.size()), spec.substr(split + marker.size() + 1)};
    if (!c.prefix.empty() && c.prefix.back() != '.') c.prefix += '.';
    return c;
  }
  if (spec.size() >= marker.size() &&
      spec.compare(spec.size() - marker.size(), marker.size(), marker) == 0) {
    return CaptureSpec{spec, ""};
  }
  return InvalidArgumentError(
      "{}: give a sinkscope-run capture, FILE.safetensors or FILE.safetensors:sentences.<i>", spec);
}

/// Where `name` is missing: a hint when the capture holds several sentences.
Status MissingTensor(const CaptureSpec& spec, const formats::TensorMap& tensors,
                     const std::string& name) {
  if (spec.prefix.empty() && tensors.count("sentences.0.input_ids") > 0) {
    return NotFoundError(
        "{}: no tensor '{}': this capture holds several sentences; name one as "
        "{}:sentences.<i>",
        spec.file, name, spec.file);
  }
  return NotFoundError("{}: no tensor '{}' (capture it with sinkscope-run --capture …)", spec.file,
                       name);
}

/// The float32 tensors `<prefix>layers.<l>.<point>` for l = first, first+1, … while present.
std::vector<at::Tensor> LayerRun(const formats::TensorMap& tensors, const std::string& prefix,
                                 int64_t first, const std::string& point) {
  std::vector<at::Tensor> out;
  for (int64_t l = first;; ++l) {
    auto it = tensors.find(fmt::format("{}layers.{}.{}", prefix, l, point));
    if (it == tensors.end() || !at::isFloatingType(it->second.scalar_type())) break;
    out.push_back(it->second.to(at::kFloat).contiguous());
  }
  return out;
}

struct Capture {
  std::vector<at::Tensor> attention;  // layers ℓ.. [H, n, n]
  std::vector<at::Tensor> hidden;     // hidden_in of the same layers [n, D] (maybe fewer)
};

StatusOr<Capture> ReadCapture(const std::string& text, int64_t layer) {
  ASSIGN_OR_RETURN(CaptureSpec spec, ParseCaptureSpec(text));
  ASSIGN_OR_RETURN(formats::TensorMap tensors, formats::ReadSafetensors(spec.file));
  Capture c;
  c.attention = LayerRun(tensors, spec.prefix, layer, "attention");
  if (c.attention.empty()) {
    return MissingTensor(spec, tensors, fmt::format("{}layers.{}.attention", spec.prefix, layer));
  }
  c.hidden = LayerRun(tensors, spec.prefix, layer, "hidden_in");
  return c;
}

struct AblationArgs {
  std::string baseline;
  std::string ablated;
  int64_t layer = 0;
  int64_t token = 0;
  std::string causality = "detect";
};

json HiddenJson(const dec::LayerAblationEffect& layer) {
  if (!layer.has_hidden) return nullptr;
  return {{"valid", layer.hidden.valid},
          {"health", HealthJson(layer.hidden.health)},
          {"baseline_norm", JsonNumber(layer.hidden.baseline_norm)},
          {"change_norm", JsonNumber(layer.hidden.change_norm)},
          {"relative_change", JsonNumber(layer.hidden.relative_change)}};
}

json AblationJson(const dec::AblationEffectResult& r) {
  json layers = json::array();
  for (const auto& layer : r.layers) {
    json heads = json::array();
    for (const auto& h : layer.heads) {
      heads.push_back({{"head", HeadJson(h.head)},
                       {"valid", h.valid},
                       {"baseline_health", HealthJson(h.baseline_health)},
                       {"ablated_health", HealthJson(h.ablated_health)},
                       {"alpha_baseline", JsonNumber(h.alpha_baseline)},
                       {"alpha_ablated", JsonNumber(h.alpha_ablated)},
                       {"alpha_change", JsonNumber(h.alpha_change)},
                       {"first_token_mass_baseline", JsonNumber(h.first_token_mass_baseline)},
                       {"first_token_mass_ablated", JsonNumber(h.first_token_mass_ablated)},
                       {"first_token_mass_change", JsonNumber(h.first_token_mass_change)},
                       {"max_abs_attention_change", JsonNumber(h.max_abs_attention_change)}});
    }
    layers.push_back({{"layer", layer.layer},
                      {"control", layer.control},
                      {"hidden", HiddenJson(layer)},
                      {"heads", std::move(heads)}});
  }
  return {{"ablated_layer", r.ablated_layer},
          {"token", r.token},
          {"num_heads", r.num_heads},
          {"num_tokens", r.num_tokens},
          {"causal", r.causal},
          {"control_max_abs_attention_change", JsonNumber(r.control_max_abs_attention_change)},
          {"max_abs_alpha_change", JsonNumber(r.max_abs_alpha_change)},
          {"max_abs_alpha_change_layer", r.max_abs_alpha_change_layer},
          {"max_abs_first_token_mass_change", JsonNumber(r.max_abs_first_token_mass_change)},
          {"max_abs_first_token_mass_change_layer", r.max_abs_first_token_mass_change_layer},
          {"num_invalid", r.num_invalid},
          {"layers", std::move(layers)}};
}

Status RunAblationEffect(const AblationArgs& args) {
  if (args.layer < 0) return InvalidArgumentError("--layer must be >= 0, got {}", args.layer);
  dec::AblationEffectOptions options;
  options.ablated_layer = args.layer;
  options.first_layer = args.layer;
  options.token = args.token;
  if (args.causality == "causal") {
    options.causality = analyzers::sink::Causality::kCausal;
  } else if (args.causality == "bidirectional") {
    options.causality = analyzers::sink::Causality::kBidirectional;
  }
  ASSIGN_OR_RETURN(Capture base, ReadCapture(args.baseline, args.layer));
  ASSIGN_OR_RETURN(Capture abl, ReadCapture(args.ablated, args.layer));
  if (base.attention.size() != abl.attention.size()) {
    return InvalidArgumentError(
        "{} has attention for layers {}..{} but {} for {}..{}: capture the same layers",
        args.baseline, args.layer, args.layer + static_cast<int64_t>(base.attention.size()) - 1,
        args.ablated, args.layer, args.layer + static_cast<int64_t>(abl.attention.size()) - 1);
  }
  for (size_t i = 0; i < base.attention.size(); ++i) {
    if (base.attention[i].sizes() != abl.attention[i].sizes() || base.attention[i].dim() != 3) {
      return InvalidArgumentError(
          "layer {}: attention {} in {} and {} in {}: both must be [H, n, n] of the same input",
          args.layer + static_cast<int64_t>(i), c10::str(base.attention[i].sizes()), args.baseline,
          c10::str(abl.attention[i].sizes()), args.ablated);
    }
    if (base.attention[i].sizes() != base.attention[0].sizes()) {
      return InvalidArgumentError("{}: layer {} attention {} differs from layer {}'s {}",
                                  args.baseline, args.layer + static_cast<int64_t>(i),
                                  c10::str(base.attention[i].sizes()), args.layer,
                                  c10::str(base.attention[0].sizes()));
    }
  }
  // The hidden change is reported when both captures have hidden_in for every layer read.
  const bool use_hidden =
      base.hidden.size() >= base.attention.size() && abl.hidden.size() >= base.attention.size();
  at::Tensor base_hidden, abl_hidden;
  if (use_hidden) {
    base.hidden.resize(base.attention.size());
    abl.hidden.resize(base.attention.size());
    ASSIGN_OR_RETURN(base_hidden,
                     TorchCall("stacking hidden states", [&] { return at::stack(base.hidden); }));
    ASSIGN_OR_RETURN(abl_hidden,
                     TorchCall("stacking hidden states", [&] { return at::stack(abl.hidden); }));
  }
  ASSIGN_OR_RETURN(at::Tensor base_attention,
                   TorchCall("stacking attention", [&] { return at::stack(base.attention); }));
  ASSIGN_OR_RETURN(at::Tensor abl_attention,
                   TorchCall("stacking attention", [&] { return at::stack(abl.attention); }));
  ASSIGN_OR_RETURN(
      dec::AblationEffectResult r,
      dec::ComputeAblationEffect(base_attention, abl_attention, base_hidden, abl_hidden, options));
  PrintJson({{"analyzer", "ablation-effect"},
             {"baseline", args.baseline},
             {"ablated", args.ablated},
             {"hidden_used", use_hidden},
             {"result", AblationJson(r)}});
  return OkStatus();
}

struct SubspaceArgs {
  std::string input;
  std::optional<int64_t> layer;
  int64_t token = 0;
  int64_t rank = 2;
  bool center = false;
  std::string others;
  std::string out;
  std::string format;
};

/// From a capture: token t's MLP output at layer ℓ of every sentence [S, D], and every other
/// token's [M, D].
StatusOr<std::pair<at::Tensor, at::Tensor>> CaptureMlpOutputs(const std::string& file,
                                                              int64_t layer, int64_t token,
                                                              int64_t* num_sentences) {
  ASSIGN_OR_RETURN(formats::TensorMap tensors, formats::ReadSafetensors(file));
  std::vector<std::string> names;
  if (tensors.count(fmt::format("layers.{}.mlp_out", layer)) > 0) {
    names.push_back(fmt::format("layers.{}.mlp_out", layer));
  }
  for (int64_t s = 0;; ++s) {
    std::string name = fmt::format("sentences.{}.layers.{}.mlp_out", s, layer);
    if (tensors.count(name) == 0) break;
    names.push_back(std::move(name));
  }
  if (names.empty()) {
    return NotFoundError(
        "{}: no 'layers.{}.mlp_out' or 'sentences.<i>.layers.{}.mlp_out' (capture it with "
        "sinkscope-run --capture mlp_out)",
        file, layer, layer);
  }
  std::vector<at::Tensor> chosen, others;
  for (const std::string& name : names) {
    const at::Tensor& t = tensors.at(name);
    if (t.dim() != 2 || !at::isFloatingType(t.scalar_type())) {
      return InvalidArgumentError("{}: '{}' must be a floating [n, D] tensor, got shape {}", file,
                                  name, c10::str(t.sizes()));
    }
    if (token < 0 || token >= t.size(0)) {
      return InvalidArgumentError("{}: token {} is outside '{}' ({} tokens)", file, token, name,
                                  t.size(0));
    }
    at::Tensor x = t.to(at::kFloat);
    chosen.push_back(x[token]);
    if (token > 0) others.push_back(x.narrow(0, 0, token));
    if (token + 1 < x.size(0)) others.push_back(x.narrow(0, token + 1, x.size(0) - token - 1));
  }
  *num_sentences = static_cast<int64_t>(names.size());
  return TorchCall("collecting MLP outputs", [&] {
    return std::make_pair(at::stack(chosen), others.empty() ? at::Tensor() : at::cat(others));
  });
}

Status RunMlpSubspace(const SubspaceArgs& args) {
  at::Tensor outputs, others;
  int64_t num_sentences = 0;
  const bool capture = args.input.size() >= 12 &&
                       args.input.compare(args.input.size() - 12, 12, ".safetensors") == 0;
  if (capture) {
    if (!args.layer.has_value()) {
      return InvalidArgumentError("{} is a capture: give --layer (and --token)", args.input);
    }
    ASSIGN_OR_RETURN(auto pair,
                     CaptureMlpOutputs(args.input, *args.layer, args.token, &num_sentences));
    outputs = pair.first;
    others = pair.second;
  } else {
    ASSIGN_OR_RETURN(outputs, ReadVectorsFile(args.input, args.format));
    if (outputs.dim() != 2) {
      return InvalidArgumentError("{}: MLP outputs must be [S, D], got shape {}", args.input,
                                  c10::str(outputs.sizes()));
    }
    num_sentences = outputs.size(0);
  }
  if (!args.others.empty()) {
    ASSIGN_OR_RETURN(others, ReadVectorsFile(args.others, args.format));
  }
  dec::SubspaceOptions options;
  options.rank = args.rank;
  options.center = args.center;
  auto s = dec::ComputeMlpSubspace(outputs, others, options);
  if (!s.ok()) return s.status().WithContext(args.input);
  if (!args.out.empty()) {
    if (!s->valid) {
      return InvalidArgumentError(
          "{}: the MLP outputs hold NaN/inf values ({} NaN, {} +inf, {} -inf); no directions "
          "written",
          args.input, s->health.num_nan, s->health.num_posinf, s->health.num_neginf);
    }
    analyzers::io::Matrix m;
    m.rows = s->directions.size(0);
    m.cols = s->directions.size(1);
    at::Tensor f = s->directions.to(at::kFloat).contiguous();
    m.values.assign(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
    RETURN_IF_ERROR(analyzers::io::WriteNpyFile(args.out, m));
  }
  json out = {{"analyzer", "mlp-subspace"},
              {"input", args.input},
              {"layer", args.layer.has_value() ? json(*args.layer) : json(nullptr)},
              {"token", capture ? json(args.token) : json(nullptr)},
              {"num_samples", outputs.size(0)},
              {"num_sentences", num_sentences},
              {"dim", outputs.size(1)},
              {"center", args.center},
              {"valid", s->valid},
              {"health", HealthJson(s->health)},
              {"rank", s->rank},
              {"singular_values", JsonNumbers(s->singular_values)},
              {"explained_variance", JsonNumbers(s->explained_variance)},
              {"top_rank_share", JsonNumber(s->top_rank_share)},
              {"num_others", others.defined() ? others.size(0) : 0},
              {"mean_other_projection_share", JsonNumber(s->mean_other_projection_share)},
              {"directions_file", args.out.empty() ? json(nullptr) : json(args.out)}};
  PrintJson(out);
  return OkStatus();
}

struct AttributionArgs {
  std::string capture;
  int64_t layer = 0;
  std::vector<int64_t> tokens;
  int64_t top_k = 5;
};

/// `mlp-attribution`: gradient × input of one layer's MLP from a capture with mlp_in and
/// mlp_in_grad (sinkscope-run --capture mlp_in,mlp_in_grad).
Status RunMlpAttribution(const AttributionArgs& args) {
  ASSIGN_OR_RETURN(CaptureSpec spec, ParseCaptureSpec(args.capture));
  ASSIGN_OR_RETURN(formats::TensorMap tensors, formats::ReadSafetensors(spec.file));
  at::Tensor x, g;
  for (auto [point, target] : {std::pair{"mlp_in", &x}, std::pair{"mlp_in_grad", &g}}) {
    const std::string name = fmt::format("{}layers.{}.{}", spec.prefix, args.layer, point);
    auto it = tensors.find(name);
    if (it == tensors.end()) return MissingTensor(spec, tensors, name);
    *target = it->second;
  }
  dec::MlpAttributionOptions options;
  options.top_k = args.top_k;
  options.tokens = args.tokens;
  auto r = dec::ComputeMlpInputAttribution(x, g, options);
  if (!r.ok()) return r.status().WithContext(args.capture);
  json tokens = json::array();
  for (const auto& t : r->tokens) {
    tokens.push_back({{"token", t.token},
                      {"top_dims", t.top_dims},
                      {"top_values", JsonNumbers(t.top_values)},
                      {"total_abs", JsonNumber(t.total_abs)},
                      {"total", JsonNumber(t.total)},
                      {"top_share", JsonNumber(t.top_share)}});
  }
  PrintJson({{"analyzer", "mlp-attribution"},
             {"input", args.capture},
             {"layer", args.layer},
             {"num_tokens", r->num_tokens},
             {"dim", r->dim},
             {"top_k", r->top_k},
             {"valid", r->valid},
             {"health", HealthJson(r->health)},
             {"tokens", tokens}});
  return OkStatus();
}

}  // namespace

void AddAblationCommands(CLI::App& app) {
  auto args = std::make_shared<AblationArgs>();
  CLI::App* cmd = app.add_subcommand(
      "ablation-effect",
      "change of α_t and first-token mass in the layers after an MLP-output ablation (two "
      "sinkscope-run captures of the same input)");
  cmd->add_option("BASELINE", args->baseline, "baseline capture: FILE.safetensors[:sentences.<i>]")
      ->required();
  cmd->add_option("ABLATED", args->ablated, "ablated capture: FILE.safetensors[:sentences.<i>]")
      ->required();
  cmd->add_option("--layer", args->layer, "the ablated layer ℓ (reported as the control)")
      ->required();
  cmd->add_option("--token", args->token, "the ablated token t (default 0)");
  cmd->add_option("--causality", args->causality, "detect (default), causal or bidirectional")
      ->check(CLI::IsMember({"detect", "causal", "bidirectional"}));
  cmd->callback([args] {
    Status s = RunAblationEffect(*args);
    if (!s.ok()) Fail("ablation-effect", s);
  });

  auto sargs = std::make_shared<SubspaceArgs>();
  CLI::App* sub = app.add_subcommand(
      "mlp-subspace",
      "top-r directions of one token's MLP outputs across sentences (SVD); writes them as .npy "
      "for sinkscope-run --mlp-ablate-directions");
  sub->add_option("INPUT", sargs->input,
                  "a sinkscope-run capture with mlp_out (FILE.safetensors), or vectors [S, D] "
                  "(.npy, CSV, FILE.safetensors:NAME)")
      ->required();
  sub->add_option("--layer", sargs->layer, "layer of the MLP outputs (for a capture)");
  sub->add_option("--token", sargs->token, "token position (for a capture; default 0)");
  sub->add_option("--rank", sargs->rank, "number of directions r (default 2)");
  sub->add_flag("--center", sargs->center, "subtract the mean first (PCA) instead of the raw SVD");
  sub->add_option("--others", sargs->others,
                  "vectors [M, D] projected onto the subspace (default for a capture: every "
                  "other token's MLP output)");
  sub->add_option("--out", sargs->out, "write the top-r directions here as float32 .npy [r, D]");
  sub->add_option("--format", sargs->format, "npy or csv for vector files (default: by extension)");
  sub->callback([sargs] {
    Status s = RunMlpSubspace(*sargs);
    if (!s.ok()) Fail("mlp-subspace", s);
  });

  auto aargs = std::make_shared<AttributionArgs>();
  CLI::App* attribution = app.add_subcommand(
      "mlp-attribution",
      "gradient × input of one layer's MLP: the input dimensions with the largest "
      "|x_d · ∂‖mlp(x)‖/∂x_d| per token (capture of sinkscope-run --capture mlp_in,mlp_in_grad)");
  attribution->add_option("CAPTURE", aargs->capture, "capture: FILE.safetensors[:sentences.<i>]")
      ->required();
  attribution->add_option("--layer", aargs->layer, "the layer")->required();
  attribution->add_option("--tokens", aargs->tokens, "token positions (default: every token)")
      ->delimiter(',');
  attribution->add_option("--top-k", aargs->top_k, "dimensions per token (default 5)");
  attribution->callback([aargs] {
    Status s = RunMlpAttribution(*aargs);
    if (!s.ok()) Fail("mlp-attribution", s);
  });
}

}  // namespace sinkscope::cli
