// Layer-wise empirical Fisher trace of the model parameters (spec paper-infogeo-value §3,
// fisher.ipynb).
//
// Input: per sample k (one sentence, one sequence-mean causal-LM loss L_k) and per parameter
// tensor θ_p, f_{k,p} = ‖∂L_k/∂θ_p‖₂² — the runtime computes them (Model::ParameterGradients,
// sinkscope-run --parameter-gradients). This file only aggregates; it never sees a model.
//
//  * Layer trace F_ℓ = (1/N) Σ_k Σ_{p∈ℓ} f_{k,p}: the trace of the layer block of the EMPIRICAL
//    Fisher F̂ = (1/N) Σ_k g_k g_kᵀ, with observed labels (not labels sampled from the model: that
//    would be the "true" Fisher, not computed here), with respect to the parameters (§3.3).
//  * Layer of a parameter, PAPER rule (§3.3): the integer after the first "layers.", else after
//    the first "layer.", else "other". CORRECTED also reads GPT-2's "h.<k>." (transformer.h.k),
//    which the PAPER rule sends to "other".
//  * Groups. PAPER: case-insensitive keyword test, first match wins — attention (attention, attn,
//    self, q_proj, k_proj, v_proj), mlp (mlp, feed_forward, ffn, dense, fc), embedding (embed,
//    token, wte, wpe); no match: no group (so post_attention_layernorm counts as attention and
//    Pythia's embed_out as embedding, §3.3's table). CORRECTED (§3.6 item 4): explicit module
//    paths — attention q/k/v/o (NeoX query_key_value/dense, GPT-2 c_attn/c_proj, Phi dense),
//    mlp up/gate/down (GPT-2 c_fc/c_proj, NeoX dense_h_to_4h/dense_4h_to_h, Phi fc1/fc2), norm,
//    embedding (input token and position embeddings), lm_head (incl. NeoX embed_out); a tied head
//    is one parameter, listed (and counted) under the embedding. Unmatched names are reported.
//  * CORRECTED adds the per-parameter trace F_ℓ / #params_ℓ (§3.6 item 5).
//  * Statistics over the numeric layers (§3.4): Pearson and Spearman of (ℓ, F_ℓ) with two-sided
//    p-values (analyzers/stats). PAPER: the 3-layer consecutive-window Pearson (mean r, mean p,
//    fraction p < α; windows whose three values are all equal skipped) and the significance
//    count. CORRECTED instead (§3.6 item 7): a trend test over all layers — Kendall's S of F_ℓ
//    against ℓ (Mann–Kendall), normal approximation with the tie correction and no continuity
//    correction (scipy.stats.kendalltau(method="asymptotic") gives the same p), plus the
//    least-squares slope.
//  * Numerics. CORRECTED reads the fp32 gradients' squared norms (accumulated in double);
//    non-finite values are counted and kept (a sum with an inf is inf). PAPER reads the fp16
//    emulation of the notebook (‖fp16(g)‖ rounded to fp16 — inf above 65504 — squared in
//    double), counts the overflows, and skips all-zero gradients as the notebook does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analyzers/stats/correlation.h"
#include "core/status.h"

namespace sinkscope::analyzers::infogeo {

/// One parameter tensor's gradient, for one sample.
struct ParameterGradientNorm {
  std::string name;         ///< full Hugging Face named_parameters() name
  int64_t numel = 0;        ///< elements of the parameter
  double squared_norm = 0;  ///< ‖g‖² of the fp32 gradient, accumulated in double
  /// PAPER: the fp16 emulation (see the header comment); required in PAPER mode.
  std::optional<double> paper_fp16_squared_norm;
};

/// All parameters' gradients of one sample (one sentence's loss).
using SampleGradients = std::vector<ParameterGradientNorm>;

enum class FisherMode { kCorrected, kPaper };

struct ParameterFisherOptions {
  FisherMode mode = FisherMode::kCorrected;
  double alpha = 0.05;  ///< significance level of the p < α flags and fractions
};

/// Layer ℓ of a parameter name: its index, or -1 for "other". `gpt2_blocks` adds CORRECTED's
/// "h.<k>." rule.
int FisherLayerOf(const std::string& name, bool gpt2_blocks);
/// PAPER keyword group: "attention", "mlp", "embedding", or "" (no group).
std::string PaperFisherGroupOf(const std::string& name);
/// CORRECTED module-path group: "attention", "mlp", "norm", "embedding", "lm_head", or "".
std::string CorrectedFisherGroupOf(const std::string& name);

struct FisherLayerTrace {
  std::string key;                 ///< "layer_<k>" or "other"
  int layer = -1;                  ///< k, or -1 for other
  double trace = 0;                ///< F_ℓ = (1/N) Σ_k Σ_{p∈ℓ} f_{k,p}
  int64_t num_parameters = 0;      ///< Σ numel over the layer's parameter tensors
  double per_parameter_trace = 0;  ///< CORRECTED: trace / num_parameters (0 when no parameter)
};

struct FisherGroupTrace {
  std::string name;
  double trace = 0;  ///< (1/N) Σ_k Σ_{p∈group} f_{k,p}
  int64_t num_parameters = 0;
  double per_parameter_trace = 0;  ///< CORRECTED only
  int64_t num_tensors = 0;
};

struct PaperConsecutiveWindows {
  int64_t num_windows = 0;  ///< windows used
  int64_t num_skipped = 0;  ///< windows whose three values are all equal
  double mean_r = 0;        ///< NaN when no window is used
  double mean_p = 0;
  double fraction_significant = 0;  ///< fraction of used windows with p < α
};

struct FisherTrendTest {
  int64_t n = 0;
  double kendall_s = 0;  ///< Σ_{i<j} sign(F_j − F_i) over layers in order
  double tau_b = 0;      ///< Kendall's τ-b (x has no ties)
  double z = 0;
  double p_value = 0;    ///< two-sided, normal approximation; NaN when all F are equal
  double ols_slope = 0;  ///< least-squares slope of F_ℓ on ℓ
};

struct PaperSignificance {
  int64_t significant_tests = 0;
  int64_t total_tests = 0;
  double ratio = 0;
};

struct ParameterFisherResult {
  FisherMode mode = FisherMode::kCorrected;
  /// What the numbers are, so they are never mistaken for the true Fisher.
  std::string quantity;
  int64_t num_samples = 0;
  std::vector<FisherLayerTrace> layers;  ///< numeric layers ascending, then "other" (if any)
  std::vector<FisherGroupTrace> groups;  ///< in the mode's group order, empty groups included
  double total = 0;                      ///< Σ over all layer keys, "other" included
  int64_t num_parameters = 0;            ///< Σ numel over distinct parameter names
  std::vector<std::string> ungrouped;    ///< distinct names in no group, sorted
  int64_t num_nonfinite = 0;      ///< per-sample values that are NaN or ±inf (fp16 ones in PAPER)
  int64_t num_fp16_overflow = 0;  ///< PAPER: fp16-emulated norms that are +inf
  int64_t num_zero_skipped = 0;   ///< PAPER: all-zero gradients skipped (as the notebook)

  /// Over the numeric layers; absent with fewer than two layers.
  std::optional<stats::Correlation> layer_position_pearson;
  std::optional<stats::Correlation> layer_position_spearman;
  std::optional<PaperConsecutiveWindows> paper_consecutive;  ///< PAPER, ≥ 3 layers
  std::optional<PaperSignificance> paper_significance;       ///< PAPER
  std::optional<FisherTrendTest> trend;                      ///< CORRECTED, ≥ 2 layers
};

/// Aggregates per-sample gradient norms. InvalidArgument: no sample, an empty name, a name
/// repeated within a sample, numel < 1 or different for one name across samples, a negative
/// value, a PAPER sample without fp16 values, alpha outside (0, 1).
StatusOr<ParameterFisherResult> ComputeParameterFisher(const std::vector<SampleGradients>& samples,
                                                       const ParameterFisherOptions& options);

}  // namespace sinkscope::analyzers::infogeo
