// The random-matrix (rmt) family, PAPER mode: `analyze_attention_matrix` of rmt.ipynb (Ruscio et
// al., NeurIPS 2025) reproduced with its quirks (spec topology-spectral §4.2, §7, §8.17).
// Every quantity is named paper_* so it is never mistaken for the CORRECTED one (rmt.h).
//
// Semantics, for M the n×n float32 matrix (arithmetic as numpy 1.24 does it on float32 input —
// the numpy the golden vectors of spec Appendix B came from):
//   1. paper_sink_concentration: c_j = Σ_i M_ij (float32, rows added in order); τ =
//      np.percentile(c, 90) (linear; evaluated in double, rounded to float32 for the comparison as
//      numpy 1.x's value-based casting does); S = {j : c_j ≥ τ}; Σ_S c / Σ c in float32 with
//      numpy's pairwise sums; 0 if Σ c = 0. Inflated by ties (§8.9): all columns tied gives 1.
//   2. paper_entropy: mean over rows of −Σ_j M_ij·log2(M_ij + 1e-10), float32 (bits).
//   3. Eigenvalues of the non-symmetric M (general eigvals). numpy 1.x computes float32 input with
//      double LAPACK geev and casts the result back to float32 / complex64 — visible in the golden
//      gap 2^53 = 1/ε_double of the rank-1 cases — so they are computed here in double from the
//      float32 values and cast the same way. If some imaginary part is non-zero and all are
//      < 1e-10 in magnitude the real parts are taken; magnitudes s sorted descending. For causal M
//      these are just the diagonal (§4.2 [DEGENERATE]).
//      paper_spectral_gap = s0/s1 (float32 ratio; +∞ if s1 = 0 < s0; NaN for n = 1, where the
//      notebook raises IndexError); paper_participation_ratio = (Σs)²/Σs² (sums float32, the
//      square and quotient double; 0 if Σs² = 0).
//   4. paper_stable_rank = Σσ²/σ0² with σ the singular values (double SVD cast to float32, like
//      numpy 1.x; Σσ² summed in float32).
//   5. paper_marchenko_pastur_kl (§4.2 step 4): x = s[:10]/mean(s[:10]); np.histogram(x, 20,
//      density=True); γ = 0.99 (the notebook's replacement of 1.0), σ² = 1; MP density at the bin
//      centres; scipy.stats.entropy(p, q). NaN for fewer than 2 values or a zero mean (numpy would
//      raise), NaN if no centre lies in the support (Σq = 0), +∞ if an occupied bin has q = 0.
// Head selection defaults to the head mean (the only matrices the notebook aggregates).
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

#include "analyzers/common/attention_matrices.h"
#include "core/status.h"

namespace sinkscope::analyzers::rmt {

/// γ of the notebook's MP law (aspect_ratio 1.0 replaced by 0.99 "to avoid the singularity").
inline constexpr double kPaperMarchenkoPasturGamma = 0.99;
/// Eigenvalue magnitudes the notebook keeps (`eigenvalues[:10]`) and feeds to the MP KL.
inline constexpr int kPaperTopEigenvalues = 10;
/// np.histogram bins of the MP KL.
inline constexpr int kPaperHistogramBins = 20;

struct PaperRmtOptions {
  /// Matrices of the layer to analyze. The notebook computes heads and the mean but aggregates
  /// only the head mean, the default.
  HeadSelection heads = HeadSelection::kHeadMean;
  /// Largest n accepted (ResourceExhausted above).
  int64_t max_n = 4096;
  /// Largest K·n² (matrices × entries) accepted.
  int64_t max_elements = int64_t{1} << 27;
};

/// The notebook's metrics of one matrix.
struct PaperRmtMatrixResult {
  int head = kHeadMean;  ///< head index, or kHeadMean
  InputHealth health;    ///< non-finite counts of the input matrix
  bool valid = false;    ///< if false every metric is NaN

  double paper_sink_concentration = 0;
  double paper_entropy = 0;  ///< mean row entropy, bits, with the 1e-10 inside the log
  double paper_spectral_gap = 0;
  double paper_participation_ratio = 0;
  double paper_stable_rank = 0;
  double paper_marchenko_pastur_kl = 0;
  /// The top min(10, n) eigenvalue magnitudes, descending (float32 values).
  std::vector<double> paper_top_eigenvalue_magnitudes;
};

struct PaperRmtResult {
  Mode mode = Mode::kPaper;
  HeadSelection heads = HeadSelection::kHeadMean;
  int64_t n = 0;
  int64_t num_heads = 0;
  double paper_mp_gamma = kPaperMarchenkoPasturGamma;
  int paper_top_eigenvalues = kPaperTopEigenvalues;
  int paper_histogram_bins = kPaperHistogramBins;
  std::vector<PaperRmtMatrixResult> matrices;  ///< in HeadSelection order
};

/// PAPER rmt metrics of one layer's attention, [n, n] or [H, n, n] (converted to float32, the
/// head mean taken in float32). InvalidArgument for a bad shape; ResourceExhausted over the limits.
StatusOr<PaperRmtResult> ComputePaperRmt(const at::Tensor& attention,
                                         const PaperRmtOptions& options = {});

/// The notebook's `compute_marchenko_pastur_distance(eigs, aspect_ratio=1.0)` on the given values
/// (already the top 10, descending): exposed for tests.
double PaperMarchenkoPasturKl(const std::vector<double>& top_eigenvalues);

}  // namespace sinkscope::analyzers::rmt
