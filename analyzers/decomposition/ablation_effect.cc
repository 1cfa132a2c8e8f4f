#include "analyzers/decomposition/ablation_effect.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>

#include "analyzers/common/positions.h"
#include "core/torch_call.h"

namespace sinkscope::analyzers::decomposition {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Status ValidateShapes(const at::Tensor& baseline, const at::Tensor& ablated,
                      const at::Tensor& baseline_hidden, const at::Tensor& ablated_hidden,
                      const AblationEffectOptions& options) {
  if (!baseline.defined() || !ablated.defined()) {
    return InvalidArgumentError("ablation effect: baseline and ablated attention are both needed");
  }
  if (baseline.dim() != 4 || baseline.size(0) < 1) {
    return InvalidArgumentError(
        "ablation effect: baseline attention must be [layers, heads, n, n], got shape {}",
        c10::str(baseline.sizes()));
  }
  RETURN_IF_ERROR(ValidateAttention(baseline[0], "baseline attention"));
  if (ablated.sizes() != baseline.sizes()) {
    return InvalidArgumentError(
        "ablation effect: ablated attention has shape {} but the baseline has {} (same input, "
        "same layers needed)",
        c10::str(ablated.sizes()), c10::str(baseline.sizes()));
  }
  if (!at::isFloatingType(ablated.scalar_type())) {
    return InvalidArgumentError("ablation effect: ablated attention is not floating point");
  }
  const int64_t num_layers = baseline.size(0);
  const int64_t n = baseline.size(-1);
  if (options.first_layer < 0) {
    return InvalidArgumentError("ablation effect: first_layer must be >= 0, got {}",
                                options.first_layer);
  }
  if (options.ablated_layer < options.first_layer ||
      options.ablated_layer >= options.first_layer + num_layers) {
    return InvalidArgumentError(
        "ablation effect: ablated layer {} is not among the layers given ({}..{})",
        options.ablated_layer, options.first_layer, options.first_layer + num_layers - 1);
  }
  if (options.token < 0 || options.token >= n) {
    return InvalidArgumentError("ablation effect: token {} is outside the input [0, {})",
                                options.token, n);
  }
  if (baseline_hidden.defined() != ablated_hidden.defined()) {
    return InvalidArgumentError(
        "ablation effect: hidden states must be given for both runs or for neither");
  }
  if (baseline_hidden.defined()) {
    if (baseline_hidden.dim() != 3 || baseline_hidden.size(0) != num_layers ||
        baseline_hidden.size(1) != n || baseline_hidden.size(2) < 1) {
      return InvalidArgumentError(
          "ablation effect: baseline hidden states must be [layers, n, D] = [{}, {}, D] like the "
          "attention {}, got shape {}",
          num_layers, n, c10::str(baseline.sizes()), c10::str(baseline_hidden.sizes()));
    }
    if (ablated_hidden.sizes() != baseline_hidden.sizes()) {
      return InvalidArgumentError(
          "ablation effect: ablated hidden states have shape {} but the baseline's have {}",
          c10::str(ablated_hidden.sizes()), c10::str(baseline_hidden.sizes()));
    }
    if (!at::isFloatingType(baseline_hidden.scalar_type()) ||
        !at::isFloatingType(ablated_hidden.scalar_type())) {
      return InvalidArgumentError("ablation effect: hidden states are not floating point");
    }
  }
  return OkStatus();
}

HeadAblationEffect CompareHead(const sink::HeadSinkMetrics& base, const sink::HeadSinkMetrics& abl,
                               double max_abs_change) {
  HeadAblationEffect e;
  e.head = base.head;
  e.baseline_health = base.health;
  e.ablated_health = abl.health;
  e.valid = base.valid && abl.valid;
  if (!e.valid) {
    e.alpha_baseline = base.valid ? base.sink_key_importance : kNaN;
    e.alpha_ablated = abl.valid ? abl.sink_key_importance : kNaN;
    e.first_token_mass_baseline = base.valid ? base.first_token_mass : kNaN;
    e.first_token_mass_ablated = abl.valid ? abl.first_token_mass : kNaN;
    e.alpha_change = e.first_token_mass_change = e.max_abs_attention_change = kNaN;
    return e;
  }
  e.alpha_baseline = base.sink_key_importance;
  e.alpha_ablated = abl.sink_key_importance;
  e.alpha_change = e.alpha_ablated - e.alpha_baseline;
  e.first_token_mass_baseline = base.first_token_mass;
  e.first_token_mass_ablated = abl.first_token_mass;
  e.first_token_mass_change = e.first_token_mass_ablated - e.first_token_mass_baseline;
  e.max_abs_attention_change = max_abs_change;
  return e;
}

HiddenChange CompareHidden(const at::Tensor& base, const at::Tensor& abl) {
  // base, abl: [D] float64 on the CPU.
  HiddenChange c;
  const double* b = base.data_ptr<double>();
  const double* a = abl.data_ptr<double>();
  const auto d = static_cast<size_t>(base.numel());
  c.health = CountNonFinite(std::span<const double>(b, d));
  const InputHealth ah = CountNonFinite(std::span<const double>(a, d));
  c.health.num_nan += ah.num_nan;
  c.health.num_posinf += ah.num_posinf;
  c.health.num_neginf += ah.num_neginf;
  c.valid = c.health.valid();
  if (!c.valid) {
    c.baseline_norm = c.change_norm = c.relative_change = kNaN;
    return c;
  }
  double norm2 = 0, change2 = 0;
  for (size_t i = 0; i < d; ++i) {
    norm2 += b[i] * b[i];
    change2 += (a[i] - b[i]) * (a[i] - b[i]);
  }
  c.baseline_norm = std::sqrt(norm2);
  c.change_norm = std::sqrt(change2);
  if (c.baseline_norm > 0) {
    c.relative_change = c.change_norm / c.baseline_norm;
  } else {
    c.relative_change = c.change_norm == 0 ? 0.0 : std::numeric_limits<double>::infinity();
  }
  return c;
}

}  // namespace

StatusOr<AblationEffectResult> ComputeAblationEffect(const at::Tensor& baseline,
                                                     const at::Tensor& ablated,
                                                     const at::Tensor& baseline_hidden,
                                                     const at::Tensor& ablated_hidden,
                                                     const AblationEffectOptions& options) {
  RETURN_IF_ERROR(ValidateShapes(baseline, ablated, baseline_hidden, ablated_hidden, options));
  const int64_t start = options.ablated_layer - options.first_layer;
  const int64_t count = baseline.size(0) - start;
  const int64_t heads = baseline.size(1);
  const int64_t n = baseline.size(-1);

  // Layers ℓ.. of both runs in float64, and max |ΔA| per head and for the head mean.
  struct Prepared {
    at::Tensor base, abl;        // [count, H, n, n]
    at::Tensor head_max_change;  // [count, H]
    at::Tensor mean_max_change;  // [count]
  };
  ASSIGN_OR_RETURN(Prepared p, TorchCall("ablation effect: reading attention", [&] {
                     Prepared r;
                     r.base =
                         baseline.narrow(0, start, count).to(at::kCPU, at::kDouble).contiguous();
                     r.abl = ablated.narrow(0, start, count).to(at::kCPU, at::kDouble).contiguous();
                     at::Tensor diff = (r.abl - r.base).abs();
                     r.head_max_change = std::get<0>(diff.flatten(2).max(2)).contiguous();
                     at::Tensor mean_diff = (r.abl.mean(1) - r.base.mean(1)).abs();
                     r.mean_max_change = std::get<0>(mean_diff.flatten(1).max(1)).contiguous();
                     return r;
                   }));

  // α_t and f with the sink analyzer's definitions; the ablated run is read with the causality
  // found (or forced) for the baseline so both use the same query sets.
  sink::SinkOptions sink_options;
  sink_options.sink_key = options.token;
  sink_options.causality = options.causality;
  ASSIGN_OR_RETURN(sink::SinkResult base_sink, sink::ComputeSinkMetrics(p.base, sink_options));
  sink_options.causality =
      base_sink.causal ? sink::Causality::kCausal : sink::Causality::kBidirectional;
  ASSIGN_OR_RETURN(sink::SinkResult abl_sink, sink::ComputeSinkMetrics(p.abl, sink_options));

  AblationEffectResult result;
  result.ablated_layer = options.ablated_layer;
  result.token = options.token;
  result.num_heads = heads;
  result.num_tokens = n;
  result.causal = base_sink.causal;
  result.num_invalid = base_sink.num_invalid + abl_sink.num_invalid;
  result.max_abs_alpha_change = kNaN;
  result.max_abs_first_token_mass_change = kNaN;

  at::Tensor base_hidden_t, abl_hidden_t;  // [count, D] float64: token t entering each layer
  if (baseline_hidden.defined()) {
    ASSIGN_OR_RETURN(base_hidden_t, TorchCall("ablation effect: reading hidden states", [&] {
                       return baseline_hidden.narrow(0, start, count)
                           .select(1, options.token)
                           .to(at::kCPU, at::kDouble)
                           .contiguous();
                     }));
    ASSIGN_OR_RETURN(abl_hidden_t, TorchCall("ablation effect: reading hidden states", [&] {
                       return ablated_hidden.narrow(0, start, count)
                           .select(1, options.token)
                           .to(at::kCPU, at::kDouble)
                           .contiguous();
                     }));
  }

  const double* head_max = p.head_max_change.data_ptr<double>();
  const double* mean_max = p.mean_max_change.data_ptr<double>();
  for (int64_t i = 0; i < count; ++i) {
    LayerAblationEffect layer;
    layer.layer = options.ablated_layer + i;
    layer.control = i == 0;
    const auto& base_heads = base_sink.layers[static_cast<size_t>(i)].heads;
    const auto& abl_heads = abl_sink.layers[static_cast<size_t>(i)].heads;
    for (int64_t h = 0; h <= heads; ++h) {  // h == heads: the head mean
      const double change = h < heads ? head_max[i * heads + h] : mean_max[i];
      layer.heads.push_back(CompareHead(base_heads[static_cast<size_t>(h)],
                                        abl_heads[static_cast<size_t>(h)], change));
    }
    if (base_hidden_t.defined()) {
      layer.has_hidden = true;
      layer.hidden = CompareHidden(base_hidden_t[i], abl_hidden_t[i]);
    }
    if (layer.control) {
      double control = 0;
      for (int64_t h = 0; h < heads; ++h) {
        const double c = layer.heads[static_cast<size_t>(h)].max_abs_attention_change;
        control = std::isnan(c) || std::isnan(control) ? kNaN : std::max(control, c);
      }
      result.control_max_abs_attention_change = control;
    } else {
      const HeadAblationEffect& mean = layer.heads.back();
      if (mean.valid) {
        const double da = std::abs(mean.alpha_change);
        if (result.max_abs_alpha_change_layer < 0 || da > result.max_abs_alpha_change) {
          result.max_abs_alpha_change = da;
          result.max_abs_alpha_change_layer = layer.layer;
        }
        const double df = std::abs(mean.first_token_mass_change);
        if (!std::isnan(df) && (result.max_abs_first_token_mass_change_layer < 0 ||
                                df > result.max_abs_first_token_mass_change)) {
          result.max_abs_first_token_mass_change = df;
          result.max_abs_first_token_mass_change_layer = layer.layer;
        }
      }
    }
    result.layers.push_back(std::move(layer));
  }
  return result;
}

}  // namespace sinkscope::analyzers::decomposition
