// The "Attention Sink Analyzer" script's measures (Dominosam/attention-sink-explorer,
// attention_sink.py), bit for bit: spec paper-infogeo-value §7.2. Kept for PAPER mode, with its
// quirks named in the fields:
//  * F[ℓ,h] = (1/n) Σ_i A[ℓ,h,i,0] over every query row, including row 0 where causal attention is
//    1 by construction;
//  * "max layer attention" is the maximum over single (layer, head) cells, not over layers;
//  * the progression compares the means of the first three and last three layers (windows that
//    overlap when L < 6);
//  * the first-vs-others ratio p̄_0/mean_{j≥1} p̄_j grows linearly with n, and the "sink strength"
//    equals p̄_0 = avg_first_token_attention/100.
// The CORRECTED definitions are in sink_metrics.h.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

#include "analyzers/common/attention_matrices.h"
#include "core/status.h"

namespace sinkscope::analyzers::sink {

struct PaperSinkResult {
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_tokens = 0;
  InputHealth health;  ///< over the whole tensor; any non-finite entry makes every value NaN
  bool valid = true;
  double paper_avg_first_token_attention = 0;        ///< 100·mean F (%)
  double paper_max_first_token_attention = 0;        ///< 100·max F over (ℓ, h) cells (%)
  double paper_min_first_token_attention = 0;        ///< 100·min F (%)
  std::vector<double> paper_layer_progression;       ///< P_ℓ = mean_h 100·F[ℓ,h]
  double paper_first_layer_avg = 0;                  ///< mean of P over the first min(3, L) layers
  double paper_last_layer_avg = 0;                   ///< mean of P over the last min(3, L) layers
  double paper_progression_increase = 0;             ///< last − first, percentage points
  std::vector<double> paper_attention_distribution;  ///< p̄_j = mean_{ℓ,h,i} A[ℓ,h,i,j]
  double paper_first_vs_avg_ratio = 0;               ///< p̄_0 / mean_{j≥1} p̄_j (NaN for n = 1)
  double paper_sink_strength = 0;                    ///< p̄_0 / Σ_j p̄_j
};

/// The explorer's measures for one sentence: `attention` is [L, H, n, n] (or [H, n, n], one
/// layer). InvalidArgument for another rank or a non-square / empty tensor.
StatusOr<PaperSinkResult> ComputePaperSinkMetrics(const at::Tensor& attention);

}  // namespace sinkscope::analyzers::sink
