// The few numpy/scipy behaviours the PAPER mode of rmt.ipynb depends on, reproduced exactly
// (spec topology-spectral §0 and §4.2):
//   * numpy's pairwise summation (np.sum / np.add.reduce over a contiguous 1-D array), in the
//     array's own precision — float32 sums round differently from a plain loop;
//   * np.percentile(x, q) with the default linear interpolation (numpy ≥ 1.22 `_lerp`, which
//     evaluates b − (b−a)(1−t) when t ≥ 0.5);
//   * np.histogram(x, bins, density=True): equal bins from np.linspace over [min, max] (±0.5 when
//     min = max), half-open bins except the last, closed one;
//   * scipy.stats.entropy(p, q): both renormalized, Σ p ln(p/q) with 0·ln(0/q) = 0, +inf if some
//     p > 0 meets q = 0, NaN if a sum is 0.
// These are small on purpose; tests/analyzers/paper_rmt_test.cc checks them against values numpy
// printed. np.percentile is stats::Quantile (descriptive.h) with q/100.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace sinkscope::analyzers::stats {

/// numpy's pairwise_sum (numpy/core/src/umath/loops_utils.h.src) in precision T: fewer than 8
/// values are added in order; up to 128 values use 8 interleaved accumulators combined as
/// ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)) plus the remainder in order; longer arrays are split in
/// two halves (the first a multiple of 8 long) and summed recursively.
template <typename T>
T NumpyPairwiseSum(std::span<const T> x) {
  const size_t n = x.size();
  if (n < 8) {
    T res = T(0);
    for (size_t i = 0; i < n; ++i) res += x[i];
    return res;
  }
  if (n <= 128) {
    T r[8];
    for (size_t j = 0; j < 8; ++j) r[j] = x[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (size_t j = 0; j < 8; ++j) r[j] += x[i + j];
    }
    T res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += x[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return NumpyPairwiseSum(x.subspan(0, n2)) + NumpyPairwiseSum(x.subspan(n2));
}

/// np.histogram(x, bins, density=True).
struct NumpyHistogram {
  std::vector<double> edges;    ///< bins + 1 edges (np.linspace(lo, hi, bins + 1))
  std::vector<double> counts;   ///< values per bin
  std::vector<double> density;  ///< counts / (N · (edges[k+1] − edges[k]))
};

/// np.histogram(x, bins, density=True) for finite x (non-empty, bins ≥ 1): range [min, max], or
/// [min − 0.5, max + 0.5] when min = max; a value v goes to bin ⌊(v − lo)·bins/(hi − lo)⌋,
/// corrected against the linspace edges exactly as numpy does, the maximum into the last bin.
NumpyHistogram NumpyHistogramDensity(std::span<const double> x, int bins);

/// scipy.stats.entropy(p, q) (natural log): p and q renormalized to sum 1, Σ_k p_k ln(p_k/q_k)
/// with a zero term where p_k = 0, +inf where p_k > 0 and q_k = 0, NaN if Σp or Σq is 0 (0/0 in
/// the normalization) or any value is NaN. Sums use numpy's pairwise order.
double ScipyEntropy(std::span<const double> p, std::span<const double> q);

}  // namespace sinkscope::analyzers::stats
