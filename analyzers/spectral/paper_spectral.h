// Spectral analyzer, PAPER definitions: laplacian.ipynb's and fiedler.ipynb's
// `compute_laplacian_eigenvalues`, bit for bit, quirks included, so published numbers can be
// reproduced. Every quantity carries "paper" in its name; the CORRECTED analyzer is spectral.h.
//
// Ideas and citations (spec paper-topology-spectral.md):
// * §5.3 (laplacian.ipynb): guards (n < 2; ΣB < 2 → zeros), B = 1[Ā > τ] with the diagonal kept;
//   n ≤ 50: all n nodes and in-degrees including self-loops; n > 50: only nodes of the edge list;
//   Gini, Freeman centralization, population variance; star_likeness = 0.3·basic + 0.7·Gini;
//   L = diag(S·1) − S with S = (B + Bᵀ)/2 over all n tokens; λ1, λ2 and λ3 − λ2 (for n > 50 the
//   notebook asks ARPACK for the 3 smallest; here a dense solver gives the same 3 values);
//   average shortest path and clustering only for n ≤ 30.
// * §5.2: the "effective" flag 0.05 ≤ ΣB/n² ≤ 0.95 and the gate `effective or layer % 4 == 0`
//   (optional: only when the layer index is given).
// * §6.2 (fiedler.ipynb): edge-list nodes for every n, star_likeness = basic only, no gap, no Gini;
//   thresholds [0.001, 0.005, 0.01, 0.02, 0.5, 0.1, 0.2] (0.5 is the notebook's typo, kept, §8.14).
// * §2, §8.17: the notebooks' Ā is numpy float16. With paper_float16 the heads are rounded to
//   float16, averaged in float32 and the mean rounded to float16 (torch's fp16 mean and numpy's
//   float16 mean both accumulate in float32). `Ā > τ` then follows numpy: a float16 array compared
//   with a Python float compares in float16 (NumPy ≥ 2, NEP 50: the Python float is "weak" and
//   takes the array's dtype; NumPy 1.x value-based casting gives the same float16), so τ is
//   rounded to float16 first: an entry equal to fp16(τ) is not an edge. Without paper_float16 the
//   same rule runs in float32 (a float32 array with a Python float compares in float32), which is
//   how the golden vectors of Appendix B were made.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/ATen.h>

#include "analyzers/common/attention_matrices.h"
#include "analyzers/spectral/batched_eigenvalues.h"
#include "core/status.h"

namespace sinkscope::analyzers::spectral {

/// Which notebook's `compute_laplacian_eigenvalues` to reproduce.
enum class PaperSpectralVariant {
  kLaplacianNotebook,  ///< laplacian.ipynb (spec §5.3)
  kFiedlerNotebook,    ///< fiedler.ipynb (spec §6.2)
};

/// "laplacian" or "fiedler".
std::string_view PaperSpectralVariantName(PaperSpectralVariant v);
StatusOr<PaperSpectralVariant> ParsePaperSpectralVariant(std::string_view name);

/// The thresholds `main()` passes in each notebook (fiedler keeps the 0.5 typo).
std::vector<double> PaperDefaultThresholds(PaperSpectralVariant v);

/// n above which laplacian.ipynb switches to edge-list nodes and the 3 smallest eigenvalues.
inline constexpr int64_t kPaperDenseMaxTokens = 50;
/// n up to which laplacian.ipynb computes path length and clustering.
inline constexpr int64_t kPaperPathMaxTokens = 30;

struct PaperSpectralOptions {
  PaperSpectralVariant variant = PaperSpectralVariant::kLaplacianNotebook;
  /// Thresholds τ; empty (default) → PaperDefaultThresholds(variant). Finite values only.
  std::vector<double> thresholds;
  /// The notebooks analyse the head mean only.
  HeadSelection heads = HeadSelection::kHeadMean;
  /// Emulate the notebooks' float16 Ā (see the header comment); false compares in float32.
  bool paper_float16 = true;
  /// laplacian.ipynb only: when set, the layer index ℓ of this attention; thresholds failing
  /// `effective or ℓ % 4 == 0` then get only the connection density (paper_gated_out = true), as
  /// in the notebook. Unset (default): every metric for every threshold (§8.11).
  std::optional<int> paper_gate_layer;
  /// Dense eigensolver for the Laplacians (batched_eigenvalues.h). kAuto: Eigen on CPU (measured
  /// 1.6–3.9× faster per matrix than libtorch's LAPACK path here, bench/README.md), one batched
  /// at::linalg_eigvalsh on CUDA. kEigen needs CPU input.
  SymmetricEigenSolver eigen_solver = SymmetricEigenSolver::kAuto;
  /// Refuse n above this (ResourceExhausted).
  int64_t max_tokens = 1024;
};

/// The notebook's result dict for one (matrix, τ). A key the notebook does not return for this
/// case (guards, variant, n > 30, gate) is NaN here.
struct PaperThresholdMetrics {
  double threshold = 0;                 ///< τ as given
  double paper_threshold_compared = 0;  ///< τ rounded to the comparison dtype (float16/float32)
  /// "" normally; "n < 2" or "too few" (ΣB < 2) for the notebook's error guards.
  std::string paper_error;
  bool paper_effective = false;          ///< 0.05 ≤ paper_connection_density ≤ 0.95 (§5.2)
  bool paper_gated_out = false;          ///< gate given and failed: only the density is computed
  int64_t paper_num_nodes = 0;           ///< N: n, or the non-isolated nodes (edge list)
  double paper_connections = 0;          ///< ΣB, diagonal included
  double paper_connection_density = 0;   ///< ΣB / n² (always computed, as the gate does)
  double paper_first_eigenvalue = 0;     ///< λ1 of L (≈ 0)
  double paper_fiedler_value = 0;        ///< λ2 of L over all n tokens
  double paper_spectral_gap = 0;         ///< λ3 − λ2 (a difference; 0 if fewer than 3 values)
  double paper_max_in_degree = 0;        ///< max in-degree, self-loop included
  double paper_basic_star_likeness = 0;  ///< max_in_degree / max(1, N − 1) (can exceed 1)
  double paper_gini_coefficient = 0;
  /// laplacian: 0.3·basic + 0.7·Gini; fiedler: basic.
  double paper_star_likeness = 0;
  double paper_degree_centralization = 0;  ///< Σ(max − d)/(N − 1)² (can exceed 1)
  double paper_degree_variance = 0;
  double paper_avg_shortest_path = 0;  ///< n ≤ 30 only; NaN if the largest component has 1 node
  double paper_clustering_coefficient = 0;  ///< n ≤ 30 only
};

struct PaperSpectralMatrixResult {
  int head = kHeadMean;
  InputHealth health;
  bool valid = true;  ///< false: NaN/±∞ input, every metric NaN
  std::vector<PaperThresholdMetrics> thresholds;
};

struct PaperSpectralResult {
  int64_t num_tokens = 0;
  int64_t num_heads = 0;
  PaperSpectralVariant variant = PaperSpectralVariant::kLaplacianNotebook;
  SymmetricEigenSolver eigen_solver = SymmetricEigenSolver::kAuto;  ///< as requested
  std::vector<double> thresholds;
  HeadSelection heads = HeadSelection::kHeadMean;
  bool paper_float16 = true;
  std::optional<int> paper_gate_layer;
  std::vector<PaperSpectralMatrixResult> matrices;
};

/// PAPER spectral metrics of one layer's attention ([n, n] or [H, n, n], any floating dtype and
/// device). Errors as ComputeSpectral.
StatusOr<PaperSpectralResult> ComputePaperSpectral(const at::Tensor& attention,
                                                   const PaperSpectralOptions& options = {});

}  // namespace sinkscope::analyzers::spectral
