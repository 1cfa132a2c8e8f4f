// Descriptive statistics across sentences (or heads, layers, checkpoints): mean, variance with a
// chosen ddof, quantiles with numpy's default linear interpolation, average ranks. NumPy's
// conventions (spec paper-topology-spectral §0) so PAPER aggregates match the notebooks:
// `np.std` is the population std (ddof = 0); `np.percentile(x, q)` interpolates linearly between
// order statistics at position q·(m − 1).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"

namespace sinkscope::analyzers::stats {

/// Mean, spread and range of a sample. Non-finite values are never dropped silently: they are
/// counted, and any NaN makes every field NaN (numpy's `propagate`). ±∞ enter the moments.
struct Summary {
  int64_t count = 0;         ///< values given
  int64_t num_nan = 0;       ///< of which NaN
  int64_t num_infinite = 0;  ///< of which ±∞
  double mean = 0;
  double std = 0;  ///< with the ddof requested (0 = population, numpy's default)
  double min = 0;
  double max = 0;
  double median = 0;
  int ddof = 0;
};

/// Summary of `values`. InvalidArgument when `values` has no more than `ddof` elements.
StatusOr<Summary> Summarize(std::span<const double> values, int ddof = 0);

/// Arithmetic mean (NaN for an empty span).
double Mean(std::span<const double> values);

/// Mean of the non-NaN values (numpy's nanmean; NaN when every value is NaN or the span is empty).
double NanMean(std::span<const double> values);

/// Σ(x − x̄)²/(m − ddof) (NaN when m ≤ ddof). Two-pass, like numpy.
double Variance(std::span<const double> values, int ddof = 0);

/// The q-quantile, q ∈ [0, 1], by linear interpolation between order statistics (numpy's
/// default `linear` method): position q·(m − 1). NaN if any value is NaN or the span is empty.
double Quantile(std::span<const double> values, double q);

/// Ranks 1..m, ties sharing their average rank (scipy.stats.rankdata, method "average").
std::vector<double> AverageRanks(std::span<const double> values);

/// The positions of `values` in ascending order (ties in any order; values without NaN). With
/// AverageRanksInOrder, the ranks of a sample and of any subsample without sorting twice: the
/// subsample's order is the full order with the other positions skipped.
std::vector<size_t> AscendingOrder(std::span<const double> values);

/// AverageRanks(values) given `order`, an ascending order of `values` (AscendingOrder).
std::vector<double> AverageRanksInOrder(std::span<const double> values,
                                        std::span<const size_t> order);

}  // namespace sinkscope::analyzers::stats
