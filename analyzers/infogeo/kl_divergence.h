// Inter-head divergence and what sink removal does to it (spec paper-infogeo-value §2).
//
// Quantities, for one layer's attention A^h (h = 0..H−1), rows renormalized to P^h and their
// head mean P̄ = (1/H) Σ_h P^h:
//  * KL_h = mean_{i∈rows} D(P^h_i ‖ P̄_i), D(p‖q) = Σ_j p_j ln(p_j/q_j) with 0·ln 0 = 0. Its mean
//    over heads is the generalized Jensen–Shannon divergence of the heads (equal weights),
//    mean_i [H(P̄_i) − mean_h H(P^h_i)] (§2.5; a unit test checks the identity).
//  * Sink removal: zero the sink columns, renormalize, recompute → KLw_h and the reduction
//    KL_h − KLw_h (§2.6).
//  * Closed form of the information lost by removing sinks from row i with sink mass m_i:
//    D(Q_i ‖ P_i) = −ln(1 − m_i), Q_i the renormalized non-sink part (§2.10.4).
//
// PAPER (KL.ipynb as run, §2.3–2.6): percentile sinks c_j ≥ percentile(c, 100·t) over
// c_j = Σ_h Σ_i A^h_ij, 20 evenly spaced rows when n > 20 (optimize_calcs), concentration over the
// first min(H, 4) heads, removal fallback "uniform over all non-sink keys, the future included".
// CORRECTED (§2.10): absolute sinks (BOS, or mean received attention over the queries that can see
// the key ≥ τ), every row that can see more than itself (i ≥ 1 for causal models) and every head,
// causal renormalization over allowed non-sink keys, rows with non-sink mass < 1e-6 dropped and
// counted, plus −ln(1 − m) and the KL to the uniform distribution over allowed keys.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

#include "analyzers/common/attention_matrices.h"
#include "core/status.h"

namespace sinkscope::analyzers::infogeo {

// ------------------------------------------------------------------------------------- PAPER
struct PaperKlOptions {
  /// Percentile levels t of the sink rule (KL.ipynb's sink_thresholds).
  std::vector<double> thresholds = {0.8, 0.9, 0.95};
  /// KL.ipynb's optimize_calcs (true as run): 20 evenly spaced rows when n > 20, concentration
  /// over the first min(H, 4) heads, max/min KL reported as 0.
  bool optimize_calcs = true;
};

struct PaperKlThreshold {
  double threshold = 0;
  std::vector<int64_t> paper_sinks;            ///< S_t, ascending
  double paper_sink_attention_percentage = 0;  ///< 100 Σ_{j∈S} c_j / Σ_j c_j
  double paper_avg_sink_concentration = 0;     ///< a fraction (the report prints ×100)
  std::vector<double> paper_kl_without_sinks;  ///< KLw_h per head
  std::vector<double> paper_kl_reduction;      ///< KL_h − KLw_h per head
  double paper_avg_kl_reduction = 0;
};

struct PaperKlResult {
  int64_t num_heads = 0;
  int64_t num_tokens = 0;
  InputHealth health;
  bool valid = true;
  std::vector<int64_t> paper_rows;      ///< the row set 𝓘
  std::vector<double> paper_kl_to_avg;  ///< KL_h per head (the baseline)
  double paper_avg_kl_divergence = 0;   ///< mean_h KL_h
  double paper_max_kl_divergence = 0;   ///< max_h KL_h, or 0 with optimize_calcs (as the notebook)
  double paper_min_kl_divergence = 0;
  std::vector<PaperKlThreshold> thresholds;
};

/// KL.ipynb's per-(sentence, layer) quantities for attention [H, n, n] (or [n, n]). Thresholds
/// must lie in [0, 1]. InvalidArgument for a bad shape or threshold.
StatusOr<PaperKlResult> ComputePaperKlSinks(const at::Tensor& attention,
                                            const PaperKlOptions& options = {});

// --------------------------------------------------------------------------------- CORRECTED
enum class SinkSetRule {
  kFirstToken,  ///< S = {0} (BOS, when the tokenizer adds one)
  kAbsolute,  ///< S = {j : mean_{i ≥ max(j,1)} Ā_ij ≥ τ} (causal), column mean of Ā otherwise
};

struct KlOptions {
  SinkSetRule sink_rule = SinkSetRule::kAbsolute;
  /// τ values of the absolute rule (one result per τ); ignored for kFirstToken.
  std::vector<double> taus = {0.1, 0.3};
  /// Rows whose non-sink mass is below this are dropped from the without-sink comparison.
  double min_remaining_mass = 1e-6;
  /// Causality of the attention (decides which rows and keys count).
  bool detect_causal = true;
  bool causal = true;  ///< used when detect_causal is false
};

struct KlSinkRemoval {
  double tau = 0;  ///< NaN for kFirstToken
  std::vector<int64_t> sinks;
  /// Rows kept for the comparison (every head has non-sink mass ≥ min_remaining_mass there) and
  /// rows dropped.
  int64_t num_rows_kept = 0;
  int64_t num_rows_dropped = 0;
  /// KL_h over the kept rows with sinks, and KLw_h without them; the reduction KL_h − KLw_h.
  std::vector<double> kl_with_sinks;
  std::vector<double> kl_without_sinks;
  std::vector<double> kl_reduction;
  double avg_kl_reduction = 0;
  /// mean over heads and kept rows of −ln(1 − m_i), the information lost by removing the sinks.
  double sink_removal_information_loss = 0;
  /// mean sink mass m over heads and kept rows
  double mean_sink_mass = 0;
};

struct KlResult {
  int64_t num_heads = 0;
  int64_t num_tokens = 0;
  bool causal = true;
  InputHealth health;
  bool valid = true;
  int64_t num_rows = 0;  ///< rows compared: i ≥ 1 for causal models, all rows otherwise
  /// KL_h = mean_i D(P^h_i ‖ P̄_i) per head, and their mean (the generalized JS divergence).
  std::vector<double> kl_to_head_mean;
  double generalized_js_divergence = 0;
  /// mean over heads and rows of ln|allowed_i| − H(P^h_i), the KL to uniform over allowed keys.
  double kl_to_uniform = 0;
  std::vector<KlSinkRemoval> removals;
};

/// CORRECTED inter-head KL and sink removal for attention [H, n, n] (or [n, n]). n = 1 causal:
/// no row to compare (num_rows = 0, divergences NaN). InvalidArgument for a bad shape or τ.
StatusOr<KlResult> ComputeKlSinks(const at::Tensor& attention, const KlOptions& options = {});

// ------------------------------------------------------------------ attention-logit Fisher
struct AttentionFisherResult {
  bool causal = true;
  /// Per head (then the head mean as the last entry): mean over rows of tr F_i = 1 − ‖P_i‖²,
  /// F_i = diag(P_i) − P_i P_iᵀ the Fisher information of the softmax in its logits. Rows as in
  /// ComputeKlSinks (i ≥ 1 for causal models).
  std::vector<double> fisher_trace;
  std::vector<int> heads;
  std::vector<InputHealth> health;
};

/// The attention-logit Fisher trace per head and for the head mean.
StatusOr<AttentionFisherResult> ComputeAttentionFisher(const at::Tensor& attention);

}  // namespace sinkscope::analyzers::infogeo
