#include "analyzers/stats/multiple_testing.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sinkscope::analyzers::stats {
namespace {

/// Indices of the non-NaN p-values, sorted by p ascending (stable, so ties keep input order).
StatusOr<std::vector<size_t>> SortedValid(std::span<const double> p) {
  std::vector<size_t> order;
  for (size_t i = 0; i < p.size(); ++i) {
    if (std::isnan(p[i])) continue;
    if (p[i] < 0 || p[i] > 1) {
      return InvalidArgumentError("p-value {} at index {} is not in [0, 1]", p[i], i);
    }
    order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  return order;
}

}  // namespace

StatusOr<std::vector<double>> HolmAdjust(std::span<const double> p_values) {
  ASSIGN_OR_RETURN(std::vector<size_t> order, SortedValid(p_values));
  std::vector<double> adjusted(p_values.begin(), p_values.end());
  const double m = static_cast<double>(order.size());
  double running = 0;
  for (size_t j = 0; j < order.size(); ++j) {
    const double value = std::min(1.0, (m - static_cast<double>(j)) * p_values[order[j]]);
    running = std::max(running, value);
    adjusted[order[j]] = running;
  }
  return adjusted;
}

StatusOr<std::vector<double>> BenjaminiHochbergAdjust(std::span<const double> p_values) {
  ASSIGN_OR_RETURN(std::vector<size_t> order, SortedValid(p_values));
  std::vector<double> adjusted(p_values.begin(), p_values.end());
  const double m = static_cast<double>(order.size());
  double running = 1.0;
  for (size_t k = order.size(); k-- > 0;) {
    const double value = std::min(1.0, m * p_values[order[k]] / static_cast<double>(k + 1));
    running = std::min(running, value);
    adjusted[order[k]] = running;
  }
  return adjusted;
}

}  // namespace sinkscope::analyzers::stats
