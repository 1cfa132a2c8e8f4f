// Ablation effect (spec sinks-frames-decomposition §3, the `--ablate-mlp-out direction|magnitude
// --layer ℓ` experiment): for an ablation of the MLP output of token t at layer ℓ (its top-r
// directions projected out, or its magnitude scaled), how the attention of the later layers
// changes — α_t (Gu et al., ICLR 2025: the mean attention t receives from the queries that can
// see it) and the first-token mass f, per head and for the head mean, with the sink analyzer's own
// definitions (analyzers/sink/sink_metrics.h, ComputeSinkMetrics with sink_key = t).
//
// Layer ℓ itself is reported as a control: its attention is computed before its MLP (also for
// parallel-residual blocks, whose attention and MLP read the same input), so its change must be
// exactly 0; a non-zero control says the two runs do not belong together (other inputs, batch,
// dtype or device). Optionally, the residual stream entering each layer (hidden_in) gives the
// relative change ‖Δh_t‖/‖h_t‖ of the ablated token, 0 at the control layer as well.
//
// Pure: takes the baseline and ablated captures as tensors, knows nothing of the model.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

#include "analyzers/common/attention_matrices.h"
#include "analyzers/sink/sink_metrics.h"
#include "core/status.h"

namespace sinkscope::analyzers::decomposition {

struct AblationEffectOptions {
  /// ℓ: the layer whose MLP output was ablated (a model layer index).
  int64_t ablated_layer = 0;
  /// t: the ablated token; α_t is reported (first-token mass is always about key 0).
  int64_t token = 0;
  /// The model layer index of the first matrix of the inputs (their layers are first_layer,
  /// first_layer + 1, …); ℓ must be among them.
  int64_t first_layer = 0;
  /// Causal or bidirectional attention: detected from the baseline (every strict-upper entry 0)
  /// unless forced; the ablated run is read with the same choice.
  sink::Causality causality = sink::Causality::kDetect;
};

/// One head (or the head mean) of one layer. Differences are ablated − baseline. When either
/// matrix holds NaN/±∞ the entry is invalid and every value is NaN (never 0).
struct HeadAblationEffect {
  int head = kHeadMean;
  bool valid = true;
  InputHealth baseline_health;
  InputHealth ablated_health;
  double alpha_baseline = 0;             ///< α_t of the baseline run
  double alpha_ablated = 0;              ///< α_t of the ablated run
  double alpha_change = 0;               ///< α_t ablated − baseline
  double first_token_mass_baseline = 0;  ///< f (NaN for a causal n = 1: no query but key 0)
  double first_token_mass_ablated = 0;
  double first_token_mass_change = 0;
  double max_abs_attention_change = 0;  ///< max_{i,j} |A'_{ij} − A_{ij}|
};

/// The residual stream entering a layer (hidden_in), at the ablated token.
struct HiddenChange {
  InputHealth health;  ///< non-finite entries of both runs' vectors of token t
  bool valid = true;
  double baseline_norm = 0;  ///< ‖h_t‖
  double change_norm = 0;    ///< ‖h'_t − h_t‖
  /// ‖h'_t − h_t‖ / ‖h_t‖; when ‖h_t‖ = 0: 0 if nothing changed, +∞ otherwise.
  double relative_change = 0;
};

struct LayerAblationEffect {
  int64_t layer = 0;     ///< model layer index
  bool control = false;  ///< layer ℓ itself: attention before the ablated MLP, change must be 0
  /// Every head, then the head mean (head = kHeadMean; the sink analyzer's Ā = (1/H) Σ_h A_h).
  std::vector<HeadAblationEffect> heads;
  bool has_hidden = false;
  HiddenChange hidden;
};

struct AblationEffectResult {
  int64_t ablated_layer = 0;
  int64_t token = 0;
  int64_t num_heads = 0;
  int64_t num_tokens = 0;
  bool causal = true;
  /// Layer ℓ (control), then ℓ+1, … up to the last layer given.
  std::vector<LayerAblationEffect> layers;
  /// max |ΔA| over every head of the control layer (0 expected; NaN if invalid).
  double control_max_abs_attention_change = 0;
  /// Over the later layers (> ℓ): the largest |Δα_t| and |Δf| of the head mean, with their
  /// layers (NaN and −1 when there is no later layer or none is valid).
  double max_abs_alpha_change = 0;
  int64_t max_abs_alpha_change_layer = -1;
  double max_abs_first_token_mass_change = 0;
  int64_t max_abs_first_token_mass_change_layer = -1;
  /// Matrices (heads and head means, either run) with NaN/±∞ entries.
  int64_t num_invalid = 0;
};

/// The ablation effect from two captures of the same input. `baseline` and `ablated` are the
/// attention of consecutive layers first_layer, first_layer+1, … as [L, H, n, n]; the optional
/// `baseline_hidden` and `ablated_hidden` (both or neither) are the hidden_in of the same layers,
/// [L, n, D]. InvalidArgument (with the shapes) for mismatched or malformed shapes, for ℓ outside
/// the given layers, or for t outside [0, n).
StatusOr<AblationEffectResult> ComputeAblationEffect(const at::Tensor& baseline,
                                                     const at::Tensor& ablated,
                                                     const at::Tensor& baseline_hidden,
                                                     const at::Tensor& ablated_hidden,
                                                     const AblationEffectOptions& options);

}  // namespace sinkscope::analyzers::decomposition
