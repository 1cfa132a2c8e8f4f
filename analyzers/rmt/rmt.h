// The random-matrix (rmt) family, CORRECTED mode: singular-value spectra of attention matrices,
// their comparison with the Marchenko–Pastur law, sink concentration and row entropy
// (spec topology-spectral §8 items 6, 7, 9, 17, 18; DESIGN §6). float64 throughout.
//
// Ideas and citations (the notebook's own definitions, kept bit-for-bit, are in paper_rmt.h):
//   * §8.6: eigenvalues of a causal (lower-triangular) M are its diagonal, so the spectrum is taken
//     from the singular values σ_1 ≥ … ≥ σ_n of M (batched at::linalg_svdvals). All n values are
//     used, not the top 10.
//       spectral_gap_ratio      = σ1/σ2 (+∞ when σ2 = 0 < σ1; reported, never dropped)
//       singular_gap_difference = σ1 − σ2 (the additive gap, under its own name: §7)
//       participation_ratio     = (Σσ²)² / Σσ⁴   (PR on σ²; n for an orthogonal matrix)
//       stable_rank             = Σσ² / σ1² = ‖M‖_F² / ‖M‖_2²
//   * §8.7: the matrix's entries are standardized, Z = (M − μ)/s with μ and s the mean and
//     population std over the entries that are not structurally zero. For a causal matrix the
//     strict upper triangle is masked (excluded from μ and s, and set to 0 in Z); causality is
//     detected (every strict-upper entry exactly 0, n ≥ 2) or forced by an option. The empirical
//     spectrum is the eigenvalues of (1/m)·Z Zᵀ (n×n, m = n columns; Eigen's
//     SelfAdjointEigenSolver per matrix on the CPU, batched at::linalg_eigvalsh on other devices),
//     compared with MP for γ (default n/m = 1, an option) and σ² = the mean eigenvalue (an option
//     fixes it) by KL over integrated bins, Kolmogorov–Smirnov and Wasserstein-1
//     (marchenko_pastur.h).
//   * §8.9: sink concentration = mass of the top-k columns, k = max(1, ⌈0.1·n⌉), ties to the lower
//     index, over the total column mass; also the single top column's share.
//   * Mean row entropy in bits, H_i = −Σ_j M_ij log2 M_ij with 0·log 0 = 0 (no 1e-10 fudge).
//   * Degenerate sizes, defined rather than crashing: n = 1 has no σ2, so the gap ratio and the
//     gap difference are NaN; a zero matrix gives NaN for every ratio (0/0); a constant matrix
//     (s = 0, also every n = 1) gives Z = 0, so the MP comparison is undefined (mp.defined =
//     false, NaN distances).
//   * Non-finite input does not fail the batch: the matrix is marked invalid with its counts and
//     NaN metrics; the others are computed (issue 4 §6).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <ATen/ATen.h>

#include "analyzers/common/attention_matrices.h"
#include "analyzers/rmt/marchenko_pastur.h"
#include "core/status.h"

namespace sinkscope::analyzers::rmt {

/// Which entries of M are structurally zero when standardizing for the MP comparison.
enum class CausalMask {
  kAuto,    ///< causal iff n ≥ 2 and every strict-upper entry is exactly 0
  kCausal,  ///< always mask the strict upper triangle
  kDense,   ///< never mask
};

/// "auto", "causal" or "dense".
StatusOr<CausalMask> ParseCausalMask(std::string_view name);
std::string_view CausalMaskName(CausalMask mask);

struct RmtOptions {
  /// Matrices of the layer to analyze (one result each, with its head index).
  HeadSelection heads = HeadSelection::kPerHeadAndMean;
  /// γ of the MP law. Unset = n/m of the standardized matrix, i.e. 1 (attention is square).
  std::optional<double> aspect_ratio;
  /// σ² of the MP law. Unset = fitted as the mean eigenvalue of (1/m) Z Zᵀ.
  std::optional<double> mp_variance;
  /// Masking of structural zeros before standardizing (see CausalMask).
  CausalMask causal_mask = CausalMask::kAuto;
  /// Equal bins of the MP KL histogram on [0, max(b, λ_max)].
  int mp_bins = 20;
  /// ε added to every bin of p and q before renormalizing (keeps KL finite).
  double kl_epsilon = 1e-10;
  /// k = max(1, ⌈sink_top_fraction · n⌉) columns in the sink concentration; in (0, 1].
  double sink_top_fraction = 0.1;
  /// Largest n accepted (ResourceExhausted above).
  int64_t max_n = 4096;
  /// Largest K·n² (matrices × entries) accepted; 2^27 float64 values = 1 GiB per working copy.
  int64_t max_elements = int64_t{1} << 27;
};

/// Metrics of one matrix (one head, or the head mean).
struct RmtMatrixResult {
  int head = kHeadMean;  ///< head index, or kHeadMean
  InputHealth health;    ///< non-finite counts of the input matrix
  bool valid = false;    ///< health.valid(); if false every metric below is NaN / empty

  std::vector<double> singular_values;  ///< σ, descending, all n
  double spectral_gap_ratio = 0;        ///< σ1/σ2
  double singular_gap_difference = 0;   ///< σ1 − σ2
  double participation_ratio = 0;       ///< (Σσ²)²/Σσ⁴
  double stable_rank = 0;               ///< Σσ²/σ1²

  int64_t sink_top_k = 0;            ///< k used
  double sink_concentration = 0;     ///< top-k column mass / total column mass
  int64_t sink_top_column = -1;      ///< argmax column mass (lowest index on ties)
  double sink_top_column_share = 0;  ///< its share of the total column mass
  double mean_row_entropy_bits = 0;  ///< (1/n) Σ_i −Σ_j M_ij log2 M_ij, 0·log 0 = 0

  bool causal = false;                 ///< strict upper triangle masked in Z
  int64_t num_unmasked = 0;            ///< entries entering μ and s
  double standardize_mean = 0;         ///< μ
  double standardize_std = 0;          ///< s (population)
  std::vector<double> mp_eigenvalues;  ///< eigenvalues of (1/m) Z Zᵀ, ascending
  MarchenkoPasturComparison mp;        ///< fit and distances (mp.defined false if s = 0)
};

struct RmtResult {
  Mode mode = Mode::kCorrected;
  HeadSelection heads = HeadSelection::kPerHeadAndMean;
  int64_t n = 0;              ///< tokens
  int64_t num_heads = 0;      ///< H of the input (1 for an [n, n] input)
  double aspect_ratio = 1.0;  ///< γ used for MP
  CausalMask causal_mask = CausalMask::kAuto;
  int mp_bins = 20;
  double kl_epsilon = 1e-10;
  double sink_top_fraction = 0.1;
  std::vector<RmtMatrixResult> matrices;  ///< in HeadSelection order (heads, then the mean)
};

/// CORRECTED rmt metrics of one layer's attention, [n, n] or [H, n, n] (any floating dtype; the
/// work is float64 on the input's device, results on the host). InvalidArgument for a bad shape or
/// option; ResourceExhausted over max_n / max_elements.
StatusOr<RmtResult> ComputeRmt(const at::Tensor& attention, const RmtOptions& options = {});

}  // namespace sinkscope::analyzers::rmt
