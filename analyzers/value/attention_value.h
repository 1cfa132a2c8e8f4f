// Attention entropy, transformation magnitude and geometric–semantic alignment of one layer
// (spec paper-infogeo-value §4, attention_value.ipynb).
//
// Inputs: the layer's attention A^h [H, n, n], its input residual stream X = h^ℓ [n, d] and output
// Y = h^{ℓ+1} [n, d] (what the notebook calls "values" is the residual stream; §1.5).
//
// PAPER (§4.2, float64 without the fp16 artefacts): entropy of the head mean with the ε = 100·2⁻²³
// filter, natural log, row 0 included; magnitudes after the per-(sentence, layer) 1e3 rescale and
// clips; cosine "semantic" similarity of X; r_GS = Pearson over every ordered off-diagonal pair
// (including causal structural zeros); r_EM over tokens; PCA component correlation with
// sklearn ≥ 1.5's sign convention (largest |loading| positive) — degenerate correlations are 0,
// as in the notebook.
// CORRECTED (§4.5): exact entropy over allowed keys (0 ln 0 = 0), normalized by ln(#allowed), per
// head and head mean, row 0 of causal models excluded; magnitudes without rescale plus the
// relative update ‖Y_i − X_i‖/‖X_i‖ with and without the sink token; r_GS over allowed pairs
// (strict lower triangle for causal models), over allowed pairs without sink/special columns, and
// per head (mean of the per-head r), Pearson and Spearman; r_EM over the same rows; |r_c| of PCA
// components (U·σ from the eigenvectors of the n×n Gram matrix when the components are well
// separated, else from an SVD; sklearn's sign rule, never a mean of arbitrary signs). Degenerate
// correlations are NaN and counted, never 0.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

#include "analyzers/common/attention_matrices.h"
#include "core/status.h"

namespace sinkscope::analyzers::value {

// ------------------------------------------------------------------------------------- PAPER
struct PaperAttentionValueResult {
  int64_t num_tokens = 0;
  std::vector<double> paper_entropy;  ///< H_i per row of the head mean (nats)
  double paper_entropy_mean = 0;
  double paper_entropy_std = 0;
  std::vector<double> paper_magnitude;  ///< m_i
  double paper_magnitude_mean = 0;
  double paper_magnitude_std = 0;
  bool paper_rescale_triggered = false;  ///< max(|X|, |Y|) > 1e3 → magnitudes in arbitrary units
  double paper_geometric_semantic_correlation = 0;
  double paper_entropy_magnitude_correlation = 0;
  int64_t paper_pca_k = 0;
  std::vector<double> paper_pca_abs_correlations;  ///< |r_c| per valid component
  double paper_pca_average_correlation = 0;        ///< signed mean (sklearn ≥ 1.5 signs)
  /// Non-finite entries replaced by 0, as the notebook does (counted here).
  InputHealth attention_health;
  InputHealth hidden_health;
};

/// attention_value.ipynb for one (sentence, layer). `attention` is [H, n, n] or [n, n]; `x` and
/// `y` are [n, d]. InvalidArgument when the shapes disagree.
StatusOr<PaperAttentionValueResult> ComputePaperAttentionValue(const at::Tensor& attention,
                                                               const at::Tensor& x,
                                                               const at::Tensor& y);

// --------------------------------------------------------------------------------- CORRECTED
struct AttentionValueOptions {
  /// Causality; detected from the attention (all strict-upper entries 0) unless forced.
  bool detect_causal = true;
  bool causal = true;
  /// Key columns left out of the "without sink" alignment and rows left out of the relative
  /// update "without sink" (e.g. BOS/position 0 and other special tokens). Default {0}.
  std::vector<int64_t> sink_positions = {0};
};

/// A correlation with its p-value; NaN (and `degenerate` set) when a sample is constant or too
/// small.
struct CorrelationValue {
  double pearson = 0;
  double pearson_p = 0;
  double spearman = 0;
  double spearman_p = 0;
  int64_t n = 0;
  bool degenerate = false;
};

struct AttentionValueResult {
  int64_t num_tokens = 0;
  int64_t num_heads = 0;
  bool causal = true;
  InputHealth attention_health;
  InputHealth hidden_health;
  bool valid = true;
  /// Rows used: i ≥ 1 for causal models, all rows otherwise.
  int64_t num_rows = 0;
  /// Exact entropy (nats) of the head mean per used row, its normalized form H/ln(#allowed)
  /// (rows with one allowed key have no normalized entropy and are skipped in its mean).
  std::vector<double> entropy;
  double entropy_mean = 0;
  double normalized_entropy_mean = 0;
  /// Mean entropy over used rows for each head.
  std::vector<double> head_entropy_mean;
  /// ‖Y_i − X_i‖ for every token; its mean over all tokens and without the sink positions.
  std::vector<double> magnitude;
  double magnitude_mean = 0;
  double magnitude_mean_without_sinks = 0;
  /// ‖Y_i − X_i‖/‖X_i‖ (NaN where ‖X_i‖ = 0), with and without sinks.
  std::vector<double> relative_update;
  double relative_update_mean = 0;
  double relative_update_mean_without_sinks = 0;
  /// Geometric–semantic alignment: head-mean attention vs cos(X_i, X_j) over allowed pairs; the
  /// same without sink columns; the mean over heads of the per-head Pearson r (NaN heads skipped,
  /// counted in num_degenerate_heads).
  CorrelationValue gs_allowed_pairs;
  CorrelationValue gs_without_sinks;
  double gs_per_head_mean = 0;
  int64_t num_degenerate_heads = 0;
  /// Entropy–magnitude correlation over the used rows.
  CorrelationValue entropy_magnitude;
  /// |Pearson r| between the PCA scores of the head-mean attention rows and of X, per component
  /// (k = min(3, n − 1)); NaN for a component with a constant score.
  std::vector<double> pca_abs_correlations;
};

/// CORRECTED attention–value metrics. `attention` [H, n, n] or [n, n], `x`, `y` [n, d]. NaN/±∞
/// anywhere marks the result invalid (counts reported, metrics NaN). InvalidArgument when the
/// shapes disagree or a sink position is out of range.
StatusOr<AttentionValueResult> ComputeAttentionValue(const at::Tensor& attention,
                                                     const at::Tensor& x, const at::Tensor& y,
                                                     const AttentionValueOptions& options = {});

}  // namespace sinkscope::analyzers::value
