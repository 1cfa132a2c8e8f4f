// Topology metrics of attention maps, PAPER mode: topology.ipynb of Ruscio, Nanni, Silvestri,
// "What are you sinking?" (NeurIPS 2025), reproduced bit for bit, quirks included. Every quantity
// here is a PAPER quantity: in particular "paper_betti_k" is the number of persistence pairs of
// dimension k (infinite ones included), not a Betti number at any filtration value (spec §7).
//
// Ideas and citations (spec = shared/spec/paper-topology-spectral.md, reference implementation
// spec/reference/ref_impl_topology_spectral.py):
// - §3.3 steps 1–2: Ā = head mean in float32; attention mean/max/min/population std over all n²
//   entries (mean ≡ 1/n, max ≡ 1 for causal models: [DEGENERATE], kept as published).
// - §3.3 steps 4–5, §0: D = 1 − Ā in float32, no symmetrization, diagonal kept; downsampled to 30
//   tokens with np.linspace(0, n−1, 30, dtype=int): idx_k = trunc(k·((n−1)/29)), idx_29 = n−1.
// - §3.3.1, Appendix A: ripser.py's sparse path (taken when some D_ii ≠ 0): vertex births D_ii;
//   an edge {i, j} only for i < j with D_ij ≠ 0 (the lower triangle is ignored, a zero entry is an
//   absent edge); H0 by union–find with the elder rule, a pair recorded only if death > birth, one
//   (birth, +∞) per final root; H1 = Vietoris–Rips H1 of the edge graph (vertex births ignored),
//   computed with the engine on absent edges = a value above every present one and a finite
//   threshold = the largest present value, so classes alive there are (w, +∞) like the reference.
// - ripser.py's dense path (every kept D_ii = 0): ripser.py passes the upper triangle
//   D[i, j], i < j, as the distance of {i, j}, zeros included (edges at 0), births 0, no
//   threshold; here the engine on that symmetric matrix.
// - §3.3.2: dim{k}_avg/max_persistence over finite pairs, absent when there are none.
// - §3.3 step 10: density_τ = #{Ā_ij > τ}/n², compared in float32 (numpy's float32 loop).
// - §3.3.3: per-head metrics; §3.4 and §8.5: head specialization by top token or position class.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "analyzers/common/attention_matrices.h"
#include "analyzers/common/positions.h"
#include "analyzers/topology/persistent_homology.h"
#include "core/status.h"

namespace sinkscope::analyzers::topology {

struct PaperTopologyOptions {
  /// The notebooks analyse the head mean only (spec §3.3 step 1).
  HeadSelection heads = HeadSelection::kHeadMean;
  /// Downsampling cap m (spec §3.3 step 5; 30 in the notebook).
  int64_t paper_max_points = 30;
  /// τ of density_τ (spec §3.3 step 10).
  std::vector<double> density_thresholds = {0.2, 0.4};
  /// Keep the diagrams in the result (false: counts and statistics only).
  bool include_bars = true;
  /// Larger inputs are refused with ResourceExhausted (the statistics read n² entries).
  int64_t max_tokens = 8192;
};

struct PaperTopologyMatrixResult {
  /// Head index, or kHeadMean.
  int head = kHeadMean;
  InputHealth health;
  /// False for a matrix with NaN/±∞: doubles NaN, counts 0, optionals absent.
  bool valid = true;
  int64_t num_tokens = 0;
  /// The kept token indices (0..n−1 when n ≤ paper_max_points).
  std::vector<int64_t> paper_kept_tokens;
  /// Over all n² entries of the float32 Ā, accumulated in float64 (numpy's float32 pairwise sums
  /// can differ in the last float32 bits). Population std.
  double attention_mean = 0;
  double attention_max = 0;
  double attention_min = 0;
  double attention_std = 0;
  /// True when every kept D_ii = 0, i.e. ripser.py's dense path.
  bool paper_dense_path = false;
  /// ripser.py's dgms[0] and dgms[1] (empty if !include_bars), sorted by (birth, death).
  std::vector<PersistenceInterval> paper_dgm0;
  std::vector<PersistenceInterval> paper_dgm1;
  /// |dgm_0|, |dgm_1| including infinite pairs (the notebook's "betti").
  int64_t paper_betti0 = 0;
  int64_t paper_betti1 = 0;
  /// mean / max of (death − birth) (float64 of float32 values) over finite pairs; absent if none.
  std::optional<double> dim0_avg_persistence;
  std::optional<double> dim0_max_persistence;
  std::optional<double> dim1_avg_persistence;
  std::optional<double> dim1_max_persistence;
  /// density_τ, one per density_thresholds entry.
  std::vector<double> density;
};

struct PaperTopologyResult {
  PaperTopologyOptions options;
  int64_t num_heads = 0;
  int64_t num_tokens = 0;
  std::vector<PaperTopologyMatrixResult> matrices;
};

/// PAPER topology metrics of one layer's attention, [n, n] or [H, n, n].
/// n = 1: D = 1 − Ā_00; for Ā_00 = 1 the dense path gives dgm0 = [(0, +∞)], otherwise the sparse
/// path gives [(D_00, +∞)]; betti0 = 1. n = 2: one possible edge {0, 1}.
/// Errors: InvalidArgument for a bad shape or options or an entry of Ā above 1 (a negative
/// distance, which ripser.py would take and the engine refuses); ResourceExhausted for
/// n > max_tokens.
StatusOr<PaperTopologyResult> ComputePaperTopologyMetrics(const at::Tensor& attention,
                                                          const PaperTopologyOptions& options);

/// np.linspace(0, n − 1, m, dtype=int) for n > m, else 0..n−1 (spec §0).
std::vector<int64_t> PaperDownsampleIndices(int64_t n, int64_t m);

/// The diagrams of ripser.py (maxdim 1, no threshold) on a float32 m×m row-major distance matrix
/// `d`, including the choice between its sparse and dense paths.
struct PaperDiagrams {
  bool dense_path = false;
  std::vector<PersistenceInterval> dgm0;
  std::vector<PersistenceInterval> dgm1;
};
StatusOr<PaperDiagrams> PaperRipserDiagrams(const std::vector<Value>& d, int64_t m);

/// §3.3.3 metrics of one head (float32 A, statistics accumulated in float64).
struct PaperHeadMetrics {
  int head = 0;
  InputHealth health;
  bool valid = true;
  double avg_attention = 0;  ///< mean(A) (= 1/n)
  double max_attention = 0;
  double std_attention = 0;  ///< population
  /// −Σ_{i,j} A_ij log2(A_ij + 1e-10), the 1e-10 added in float32 (total over rows, not a mean).
  double entropy = 0;
  /// argmax_j of the column mean (1/n) Σ_i A_ij, first index on ties; the caller maps it to the
  /// token string.
  int64_t top_idx = 0;
  double top_strength = 0;  ///< the column mean at top_idx
  /// argmax_{i,j} A_ij, first in row-major order: (source, target, value).
  int64_t strongest_source = 0;
  int64_t strongest_target = 0;
  double strongest_value = 0;
};

/// One entry per head of `attention` ([n, n] is head 0). NaN/±∞ → valid = false, NaN values.
/// Errors: InvalidArgument for a bad shape.
StatusOr<std::vector<PaperHeadMetrics>> ComputePaperHeadMetrics(const at::Tensor& attention);

/// The top tokens of one (layer, head) across samples (spec §3.4).
struct HeadTopTokens {
  int layer = 0;
  int head = 0;
  std::vector<std::string> top_tokens;  ///< one per sample
};

struct HeadSpecialization {
  int layer = 0;
  int head = 0;
  std::string token;         ///< the most frequent key (first seen among ties)
  int64_t count = 0;         ///< c*
  int64_t total = 0;         ///< number of samples
  double consistency = 0;    ///< c*/total (0 when total = 0)
  bool specialized = false;  ///< consistency ≥ min_consistency and total ≥ min_total
};

struct HeadSpecializationResult {
  /// Every input head, in input order.
  std::vector<HeadSpecialization> heads;
  /// The specialized heads, consistency descending; ties keep input order (Python's stable sort).
  std::vector<HeadSpecialization> specialized;
};

/// PAPER head specialization by top-token string (spec §3.4).
HeadSpecializationResult PaperHeadSpecialization(const std::vector<HeadTopTokens>& heads,
                                                 double min_consistency = 0.3,
                                                 int64_t min_total = 5);

/// Position classes of the top column (spec §8.5): analyzers::PositionClass, from
/// ClassifyPositions (analyzers/common/positions.h).
struct HeadTopPositions {
  int layer = 0;
  int head = 0;
  std::vector<PositionClass> top_classes;  ///< one per sample
};

/// Head specialization by position class (spec §8.5): as PaperHeadSpecialization with the class
/// names as keys, so a position-0 sink with varying first words counts as one key.
HeadSpecializationResult PositionClassSpecialization(const std::vector<HeadTopPositions>& heads,
                                                     double min_consistency = 0.3,
                                                     int64_t min_total = 5);

}  // namespace sinkscope::analyzers::topology
