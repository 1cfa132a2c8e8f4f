// Spectral analyzer, CORRECTED definitions: Laplacian spectra and star statistics of thresholded
// and weighted attention graphs, per head and head mean.
//
// Ideas and citations (spec paper-topology-spectral.md):
// * §8.10: all n nodes always; self-loops excluded from degrees (in_deg_j = Σ_{i≠j} B_ij), so
//   star_likeness = max in-degree/(n−1) ∈ [0, 1]; a dense float64 symmetric eigensolver for every
//   n (batched_eigenvalues.h, no ARPACK); a weighted variant W = (A+Aᵀ)/2 (or max(A, Aᵀ)) with
//   zero diagonal and λ2 of L and L_sym; star proximity 1 − ‖L − L_{S*}‖_F/(‖L‖_F + ‖L_{S*}‖_F)
//   and |λ2 − λ2(S*)|.
// * §5.3 steps 10–14: thresholded graph B = 1[A > τ] (strict), S = (B + Bᵀ)/2 ∈ {0, ½, 1},
//   L = D − S. λ3 − λ2 is a *difference*, named laplacian_gap_difference (§7: rmt's "spectral gap"
//   is a ratio of another matrix).
// * §8.1 cross-check: the number of connected components of B ∨ Bᵀ (= {max(A, Aᵀ) > τ}) equals the
//   multiplicity of the eigenvalue 0 of L (both reported; tests also compare with H0 of
//   persistent_homology.h).
// * §8.11, §8.19: no "effective density" gate and no n ≤ 30 gate; density is reported instead.
//
// Definitions for the degenerate sizes: n = 1 has no edges, so every degree statistic, density and
// clustering is 0, num_components = 1, and λ2, the gap, star proximity, the star Fiedler deviation
// and the average shortest path are NaN (they need 2, 3 or 2 nodes). n = 2 has λ2 but no λ3 (gap
// NaN); its ideal star is the single edge, whose λ2 is 2w.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <ATen/ATen.h>

#include "analyzers/common/attention_matrices.h"
#include "analyzers/spectral/batched_eigenvalues.h"
#include "core/status.h"

namespace sinkscope::analyzers::spectral {

/// How the weighted graph is made symmetric.
enum class Symmetrization {
  kMean,  ///< W = (A + Aᵀ)/2 (spec §8.10; default)
  kMax,   ///< W = max(A, Aᵀ) (the topology analyzer's default, §8.1)
};

/// "mean" or "max".
std::string_view SymmetrizationName(Symmetrization s);
StatusOr<Symmetrization> ParseSymmetrization(std::string_view name);

/// The thresholds of laplacian.ipynb (spec §5.1), also the CORRECTED default (§8.14).
std::vector<double> DefaultSpectralThresholds();

/// Inputs with more tokens are refused (ResourceExhausted): every (matrix, threshold) pair holds
/// two dense float64 n×n Laplacians while its eigenvalues are computed.
inline constexpr int64_t kDefaultSpectralMaxTokens = 1024;

struct SpectralOptions {
  /// Edge thresholds τ (attention probability, strict A_ij > τ compared in float64). Any finite
  /// values; empty computes the weighted graph only.
  std::vector<double> thresholds = DefaultSpectralThresholds();
  /// Matrices analysed: every head and the head mean by default.
  HeadSelection heads = HeadSelection::kPerHeadAndMean;
  /// Symmetrization of the weighted graph.
  Symmetrization weighted_symmetrization = Symmetrization::kMean;
  /// Average shortest path and clustering (O(n³) per graph on the CPU); off → NaN.
  bool compute_paths = true;
  /// Dense eigensolver for the Laplacians (batched_eigenvalues.h). kAuto: Eigen on CPU (measured
  /// 1.6–3.9× faster per matrix than libtorch's LAPACK path here, bench/README.md), one batched
  /// at::linalg_eigvalsh on CUDA. kEigen needs CPU input.
  SymmetricEigenSolver eigen_solver = SymmetricEigenSolver::kAuto;
  /// Refuse n above this (ResourceExhausted).
  int64_t max_tokens = kDefaultSpectralMaxTokens;
};

/// Metrics of one thresholded graph: B_ij = 1[A_ij > τ] for i ≠ j (the diagonal is ignored),
/// S = (B + Bᵀ)/2 with entries in {0, ½, 1}, L = D − S, L_sym = D^{-1/2} L D^{-1/2} (isolated
/// nodes: zero rows, see NormalizedLaplacians).
struct ThresholdGraphMetrics {
  double threshold = 0;
  int64_t num_edges = 0;  ///< directed off-diagonal edges Σ_{i≠j} B_ij
  double density = 0;     ///< num_edges / (n(n−1)); 0 for n = 1
  int64_t hub = -1;       ///< argmax_j in_deg_j (lowest index on ties)
  int64_t max_in_degree = 0;
  double star_likeness = 0;          ///< max_in_degree / (n − 1) ∈ [0, 1] (0 for n = 1)
  double gini_coefficient = 0;       ///< Gini of the n in-degrees (0 if no edges)
  double degree_centralization = 0;  ///< Freeman: Σ_j (max − in_deg_j) / (n − 1)² ∈ [0, 1]
  double degree_variance = 0;        ///< population variance of the n in-degrees
  int64_t num_components = 0;        ///< connected components of B ∨ Bᵀ, isolated nodes counted
  int64_t zero_eigenvalue_multiplicity = 0;  ///< #{λ(L) ≤ zero_eigenvalue_tolerance}
  double zero_eigenvalue_tolerance = 0;      ///< 64·n·ε_float64·max(1, λ_max(L))
  double fiedler_value = 0;                  ///< λ2(L) (0 ⇔ disconnected, up to rounding)
  double normalized_fiedler_value = 0;       ///< λ2(L_sym)
  double laplacian_gap_difference = 0;       ///< λ3(L) − λ2(L)
  /// Weight w of the ideal star S* centred at `hub`: 0.5 if more of the hub's edges in S are
  /// one-directional (S = ½) than bidirectional (S = 1), else 1 (ties and an edgeless hub → 1).
  double star_edge_weight = 0;
  double star_fiedler_value = 0;      ///< λ2(L_{S*}): w for n ≥ 3, 2w for n = 2
  double fiedler_star_deviation = 0;  ///< |λ2(L) − λ2(L_{S*})|
  /// 1 − ‖L − L_{S*}‖_F / (‖L‖_F + ‖L_{S*}‖_F) ∈ [0, 1]; 1 exactly for the ideal star.
  double star_proximity = 0;
  int64_t largest_component_size = 0;  ///< nodes of the largest component (lowest node on ties)
  /// Mean hop distance over ordered pairs of the largest component (the graph itself when
  /// connected); NaN when that component has one node (no edges at all).
  double avg_shortest_path = 0;
  double clustering_coefficient = 0;  ///< mean local clustering over all n nodes (deg < 2 → 0)
};

/// Metrics of the weighted graph W (zero diagonal) with L = D − W and L_sym. Strengths are the
/// weighted in-degrees s_j = Σ_{i≠j} A_ij of the directed attention (column mass off the
/// diagonal); for a row-stochastic A their mean is (n − trace A)/n.
struct WeightedGraphMetrics {
  double fiedler_value = 0;             ///< λ2(L)
  double normalized_fiedler_value = 0;  ///< λ2(L_sym)
  double laplacian_gap_difference = 0;  ///< λ3(L) − λ2(L)
  int64_t hub = -1;                     ///< argmax_j s_j
  double max_in_strength = 0;           ///< max_j s_j
  double in_strength_gini = 0;          ///< Gini of the s_j
  double in_strength_variance = 0;      ///< population variance of the s_j
};

/// The result for one matrix. When `health` reports a NaN/±∞ entry, valid is false, every double
/// metric is NaN and every count −1; the other matrices are unaffected.
struct SpectralMatrixResult {
  int head = kHeadMean;  ///< head index, or kHeadMean
  InputHealth health;
  bool valid = true;
  std::vector<ThresholdGraphMetrics> thresholds;  ///< one per options.thresholds, same order
  WeightedGraphMetrics weighted;
};

struct SpectralResult {
  int64_t num_tokens = 0;  ///< n
  int64_t num_heads = 0;   ///< H of the input (1 for an [n, n] input)
  SymmetricEigenSolver eigen_solver = SymmetricEigenSolver::kAuto;  ///< as requested
  std::vector<double> thresholds;
  HeadSelection heads = HeadSelection::kPerHeadAndMean;
  Symmetrization weighted_symmetrization = Symmetrization::kMean;
  bool compute_paths = true;
  std::vector<SpectralMatrixResult> matrices;
};

/// CORRECTED spectral metrics of one layer's attention ([n, n] or [H, n, n], any floating dtype,
/// any device; computed in float64 on that device, graph walks on the CPU).
/// InvalidArgument: bad shape/dtype (with the shape), a non-finite threshold.
/// ResourceExhausted: n > options.max_tokens.
StatusOr<SpectralResult> ComputeSpectral(const at::Tensor& attention,
                                         const SpectralOptions& options = {});

}  // namespace sinkscope::analyzers::spectral
