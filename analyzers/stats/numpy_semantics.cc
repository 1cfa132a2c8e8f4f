#include "analyzers/stats/numpy_semantics.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace sinkscope::analyzers::stats {

NumpyHistogram NumpyHistogramDensity(std::span<const double> x, int bins) {
  NumpyHistogram h;
  const auto nbins = static_cast<size_t>(bins);
  double lo = *std::min_element(x.begin(), x.end());
  double hi = *std::max_element(x.begin(), x.end());
  if (lo == hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  // np.linspace(lo, hi, bins + 1): k·step + lo, the last edge set to hi.
  const double delta = hi - lo;
  const double step = delta / static_cast<double>(bins);
  h.edges.resize(nbins + 1);
  for (size_t k = 0; k <= nbins; ++k) {
    h.edges[k] = step == 0 ? (static_cast<double>(k) / bins) * delta + lo
                           : static_cast<double>(k) * step + lo;
  }
  h.edges[nbins] = hi;
  h.counts.assign(nbins, 0.0);
  for (double v : x) {
    if (!(v >= lo && v <= hi)) continue;
    auto idx = static_cast<int64_t>(((v - lo) / delta) * static_cast<double>(bins));
    if (idx == bins) --idx;
    // numpy's ±1 corrections against the actual edges (the division is not exact near them).
    if (v < h.edges[static_cast<size_t>(idx)]) --idx;
    if (v >= h.edges[static_cast<size_t>(idx) + 1] && idx != bins - 1) ++idx;
    h.counts[static_cast<size_t>(idx)] += 1.0;
  }
  const double total = NumpyPairwiseSum<double>(h.counts);
  h.density.resize(nbins);
  for (size_t k = 0; k < nbins; ++k) {
    h.density[k] = h.counts[k] / (h.edges[k + 1] - h.edges[k]) / total;
  }
  return h;
}

double ScipyEntropy(std::span<const double> p, std::span<const double> q) {
  const double sp = NumpyPairwiseSum<double>(p);
  const double sq = NumpyPairwiseSum<double>(q);
  std::vector<double> terms(p.size());
  for (size_t k = 0; k < p.size(); ++k) {
    const double pk = 1.0 * p[k] / sp;
    const double qk = 1.0 * q[k] / sq;
    // scipy.special.rel_entr
    if (std::isnan(pk) || std::isnan(qk)) {
      terms[k] = std::numeric_limits<double>::quiet_NaN();
    } else if (pk > 0 && qk > 0) {
      terms[k] = pk * std::log(pk / qk);
    } else if (pk == 0 && qk >= 0) {
      terms[k] = 0.0;
    } else {
      terms[k] = std::numeric_limits<double>::infinity();
    }
  }
  return NumpyPairwiseSum<double>(terms);
}

}  // namespace sinkscope::analyzers::stats
