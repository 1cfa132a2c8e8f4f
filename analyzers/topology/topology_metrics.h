// Topology metrics of attention maps, CORRECTED mode (the default): persistent homology of a
// symmetric attention distance, per head and head mean, with and without the sink token.
//
// Ideas and citations (spec = shared/spec/paper-topology-spectral.md):
// - §8.1: the notebooks' distance 1 − Ā is not symmetric and ripser.py reads only its upper
//   triangle, which makes β0 = min(n, 30) and β1 = 0 for every causal model. Here the weights are
//   symmetrized first, W = max(A, Aᵀ) (default) or (A + Aᵀ)/2, the distance is d_ij = 1 − W_ij
//   (or −ln(W_ij + ε), ε = 1e-12) off the diagonal and 0 on it, and no vertex has a birth time.
// - §8.2: no downsampling; the full sequence goes to the Vietoris–Rips engine
//   (persistent_homology.h, float32 values like ripser), dimensions 0 and 1 (2 optional).
// - §8.1 reports: Betti curves β_k(ε) = #{bars with birth ≤ ε < death} on a grid, the number of
//   bars with persistence > δ, total / max persistence and persistent entropy (Rucco et al. 2016,
//   Atienza et al. 2019) over finite bars, and the plain pair count (the PAPER "Betti number").
// - §8.1 cross-check: β0(1 − τ) = number of connected components of the graph {W > τ}.
// - §8.1 / §8.18: every analysis runs per head and on the head mean (HeadSelection) and twice,
//   with and without the sink token (SinkRule; the row-renormalized matrix without it).
// - §8.3: instead of attention_mean ≡ 1/n and attention_max ≡ 1, the sink mass mean_i A_{i,s}
//   and per-row statistics (mean row max, mean row entropy in bits).
// - §8.17: CORRECTED numerics are float64; only the engine's filtration values are float32.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <ATen/ATen.h>

#include "analyzers/common/attention_matrices.h"
#include "analyzers/topology/persistent_homology.h"
#include "core/status.h"

namespace sinkscope::analyzers::topology {

/// How the asymmetric attention A becomes symmetric weights W (spec §8.1).
enum class Symmetrization {
  kMax,   ///< W = max(A, Aᵀ): for causal A, the only non-zero direction of each pair
  kMean,  ///< W = (A + Aᵀ)/2
};
/// "max" or "mean".
std::string_view SymmetrizationName(Symmetrization s);
StatusOr<Symmetrization> ParseSymmetrization(std::string_view name);

/// How weights become distances off the diagonal (the diagonal is always 0).
enum class DistanceTransform {
  kOneMinus,  ///< d = 1 − W (spec §8.1 default)
  kNegLog,    ///< d = −ln(W + log_epsilon) (spec §8.1 option)
};
/// "one-minus" or "neg-log".
std::string_view DistanceTransformName(DistanceTransform t);
StatusOr<DistanceTransform> ParseDistanceTransform(std::string_view name);

struct TopologyMetricsOptions {
  /// Matrices analysed: every head and the head mean by default (spec §8.18).
  HeadSelection heads = HeadSelection::kPerHeadAndMean;
  Symmetrization symmetrization = Symmetrization::kMax;
  DistanceTransform distance = DistanceTransform::kOneMinus;
  /// ε of kNegLog (dimensionless, > 0).
  double log_epsilon = 1e-12;
  /// Highest homology dimension: 0, 1 (default) or 2 (refused above kMaxPointsForDim2 tokens).
  int max_dim = 1;
  /// Sink token removed for the second analysis; nullopt ("none") runs only the full matrix.
  std::optional<SinkRule> sink_rule = SinkRule::kFirstToken;
  /// Filtration values ε (distance units) of the Betti curves. Compared with the float32 bars
  /// after rounding ε to float32, as the engine would.
  std::vector<double> betti_grid = {0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999};
  /// δ of the "bars with persistence > δ" counts (distance units, ≥ 0).
  std::vector<double> persistence_thresholds = {0.01, 0.05};
  /// Keep the bars themselves in the result (false: only the summaries).
  bool include_bars = true;
  /// Larger inputs are refused with ResourceExhausted (H1 visits up to n³/6 triangles).
  int64_t max_tokens = 2048;
};

/// The persistence of one homology dimension and its summaries. Persistence of a bar is
/// death − birth in float64 from the float32 values; infinite bars (death = +∞) are counted where
/// stated and never enter sums.
struct BarcodeSummary {
  int dim = 0;
  /// The bars (zero-length bars dropped, as ripser does); empty if !include_bars.
  std::vector<PersistenceInterval> bars;
  /// Plain pair counts: all, finite, infinite (the PAPER "Betti number" is num_pairs).
  int64_t num_pairs = 0;
  int64_t num_finite = 0;
  int64_t num_infinite = 0;
  /// β_k(ε) = #{bars with birth ≤ ε < death}, one per betti_grid entry (infinite bars included).
  std::vector<int64_t> betti_curve;
  /// #{bars with death − birth > δ}, one per persistence_thresholds entry; infinite bars count.
  std::vector<int64_t> num_persistent;
  /// Σ (d − b) over finite bars; 0 if there are none.
  double total_persistence = 0;
  /// max (d − b) over finite bars; 0 if there are none.
  double max_persistence = 0;
  /// −Σ p ln p with p = (d − b)/total_persistence over finite bars, in nats (natural log).
  /// 0 when there are no finite bars (or total persistence 0); ln(#finite bars) at most.
  double persistent_entropy = 0;
};

/// One analysis of one matrix (full, or without the sink token).
struct TopologyVariant {
  /// Tokens analysed (n, or n − 1 without the sink).
  int64_t num_tokens = 0;
  /// The token removed from the input matrix (its index there), or -1 for the full matrix.
  int64_t removed_token = -1;
  /// Distances below 0 (W > 1 by rounding, or −ln(W + ε) < 0) that were clamped to 0.
  int64_t num_clamped_distances = 0;
  /// Rows with positive mass (rows left empty by the sink's removal are skipped below).
  int64_t num_nonempty_rows = 0;
  /// mean over non-empty rows of max_j A_ij.
  double mean_row_max = 0;
  /// mean over non-empty rows of −Σ_j A_ij log2 A_ij (bits; 0·log 0 = 0; rows as given).
  double mean_row_entropy_bits = 0;
  /// H_0 .. H_max_dim.
  std::vector<BarcodeSummary> dims;
};

struct TopologyMatrixResult {
  /// Head index, or kHeadMean.
  int head = kHeadMean;
  InputHealth health;
  /// False for a matrix with NaN/±∞: its doubles are NaN, dims empty, without_sink absent.
  bool valid = true;
  /// The sink under options.sink_rule, -1 for "none".
  int64_t sink_index = -1;
  /// mean_i A_{i,s} of the input matrix (spec §8.3); NaN for "none".
  double sink_mass = 0;
  TopologyVariant with_sink;
  /// The analysis without the sink token; absent for "none" or n = 1.
  std::optional<TopologyVariant> without_sink;
};

struct TopologyMetricsResult {
  /// The options used (grids, rules, limits).
  TopologyMetricsOptions options;
  /// H (1 for an [n, n] input) and n.
  int64_t num_heads = 0;
  int64_t num_tokens = 0;
  /// One entry per selected matrix, heads in order then the head mean.
  std::vector<TopologyMatrixResult> matrices;
};

/// CORRECTED topology metrics of one layer's attention, [n, n] or [H, n, n].
/// n = 1: one point, H0 = [(0, +∞)], no sink-removed variant. n = 2: one finite H0 bar at
/// d_01 (if d_01 > 0), the sink-removed variant has one token.
/// Errors: InvalidArgument for a bad shape or options; ResourceExhausted for n > max_tokens, or
/// max_dim = 2 with n > kMaxPointsForDim2.
StatusOr<TopologyMetricsResult> ComputeTopologyMetrics(const at::Tensor& attention,
                                                       const TopologyMetricsOptions& options);

/// The float32 distance matrix [n, n] (row-major) that ComputeTopologyMetrics gives the engine
/// for one float64 matrix [n, n]; exposed for tests. `num_clamped` receives the clamped count.
std::vector<Value> AttentionDistances(const at::Tensor& matrix, Symmetrization symmetrization,
                                      DistanceTransform transform, double log_epsilon,
                                      int64_t* num_clamped);

/// Summaries of one dimension's bars (exposed for tests of the closed forms).
BarcodeSummary SummarizeBarcode(int dim, const std::vector<PersistenceInterval>& bars,
                                const std::vector<double>& betti_grid,
                                const std::vector<double>& persistence_thresholds,
                                bool include_bars);

}  // namespace sinkscope::analyzers::topology
