// Reference-point metrics of one layer (spec paper-infogeo-value §5, reference_point.ipynb): how
// much of each token's attention mixture comes from the "reference tokens" R.
//
// For a token i outside R, with row weights w_i (renormalized attention) and vectors v_j:
// o_i = Σ_j w_ij v_j, r_i = Σ_{j∈R} w_ij v_j, u_i = o_i − r_i; relative magnitude
// RM_i = clip(‖r_i‖/‖o_i‖, 0, 1), directional guidance DI_i = (cos(r_i, o_i) + 1)/2, and
// ‖r_i‖ (the notebook's "information content change", which equals ‖o_i − u_i‖ = ‖r_i‖).
//
// PAPER (§5.2, float64 without its fp16 overflow): head-mean attention, v = the layer-input
// residual stream, R = {j : column mean over all n queries > τ} (τ = 0.1) with the top-⌊0.1n⌋
// fallback and the ⌊0.3n⌋ cap, dummies (0.5, 0.5, 0) for tokens in R included in the means.
// CORRECTED (§5.5): R from the exposure-corrected column mean (queries that can see j), tokens
// in R excluded from the means, float64, and optionally real per-head value vectors v_j^h
// (v_proj outputs, GQA-mapped: query head h reads KV head ⌊h·H_kv/H⌋) with per-head attention;
// plus the structural importance SI_i = −ln(1 − Σ_{j∈R} w_ij).
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

#include "analyzers/common/attention_matrices.h"
#include "core/status.h"

namespace sinkscope::analyzers::value {

struct ReferencePointOptions {
  double tau = 0.1;             ///< reference threshold on the (column-mean) received attention
  double fallback_share = 0.1;  ///< R empty → the top max(1, ⌊share·n⌋) columns
  double cap_share = 0.3;       ///< |R| capped at max(1, ⌊share·n⌋) (largest kept)
};

struct PaperReferencePointResult {
  std::vector<int64_t> paper_reference_tokens;  ///< ascending
  std::vector<double> paper_column_mean_attention;
  std::vector<double> paper_relative_magnitude;          ///< per token, dummies 0.5 in R
  std::vector<double> paper_directional_influence;       ///< per token, dummies 0.5 in R
  std::vector<double> paper_information_content_change;  ///< per token (= ‖r_i‖), 0 in R
  /// Means over all n tokens with the dummies (the notebook's numbers) and without them.
  double paper_relative_magnitude_mean = 0;
  double paper_directional_influence_mean = 0;
  double paper_information_content_change_mean = 0;
  double paper_relative_magnitude_mean_without_reference = 0;
  double paper_directional_influence_mean_without_reference = 0;
  double paper_information_content_change_mean_without_reference = 0;
  /// Non-finite entries the notebook sanitizes (NaN → 0, +∞ → 1 in attention, → 0 in hidden).
  InputHealth attention_health;
  InputHealth hidden_health;
};

/// reference_point.ipynb for one (sentence, layer): `attention` [H, n, n] or [n, n], `hidden`
/// (the layer input) [n, d]. InvalidArgument for mismatched shapes or options out of range.
StatusOr<PaperReferencePointResult> ComputePaperReferencePoint(
    const at::Tensor& attention, const at::Tensor& hidden,
    const ReferencePointOptions& options = {});

struct ReferencePointHead {
  int head = kHeadMean;
  double relative_magnitude_mean = 0;
  double directional_guidance_mean = 0;
  double reference_norm_mean = 0;
  double structural_importance_mean = 0;  ///< mean −ln(1 − Σ_{j∈R} w_ij)
};

struct ReferencePointResult {
  bool causal = true;
  std::vector<int64_t> reference_tokens;   ///< ascending
  std::vector<double> received_attention;  ///< exposure-corrected column mean of Ā
  int64_t num_tokens_measured = 0;         ///< tokens outside R (rows with weight)
  InputHealth attention_health;
  InputHealth vector_health;
  bool valid = true;
  /// With residual-stream vectors: one entry for the head mean. With per-head value vectors:
  /// every head, then their mean as kHeadMean.
  std::vector<ReferencePointHead> heads;
};

/// CORRECTED reference-point metrics. `vectors` is the layer-input residual stream [n, d] (used
/// with the head mean), or per-head value vectors [H_kv, n, d_head] (used with each head's own
/// attention; H must be a multiple of H_kv). NaN/±∞ → invalid with counts.
StatusOr<ReferencePointResult> ComputeReferencePoint(const at::Tensor& attention,
                                                     const at::Tensor& vectors,
                                                     const ReferencePointOptions& options = {});

}  // namespace sinkscope::analyzers::value
