// Multiplicity correction for the many layer-pair tests of one analysis (spec
// paper-topology-spectral §8.4: the notebooks ran 50 uncorrected tests).
//  * Holm (1979) step-down: sort p ascending; adjusted p_(i) = max_{j ≤ i} min(1, (m − j)·p_(j))
//    (0-based j). Controls the family-wise error rate.
//  * Benjamini–Hochberg (1995) step-up: adjusted p_(i) = min_{j ≥ i} min(1, m·p_(j)/(j + 1)).
//    Controls the false discovery rate (scipy.stats.false_discovery_control(method="bh")).
// Adjusted values come back in the input order. NaN p-values are kept as NaN and not counted in m
// (a test that could not run is not a test).
#pragma once

#include <span>
#include <vector>

#include "core/status.h"

namespace sinkscope::analyzers::stats {

/// Holm-adjusted p-values. InvalidArgument for a p-value outside [0, 1].
StatusOr<std::vector<double>> HolmAdjust(std::span<const double> p_values);

/// Benjamini–Hochberg-adjusted p-values. InvalidArgument for a p-value outside [0, 1].
StatusOr<std::vector<double>> BenjaminiHochbergAdjust(std::span<const double> p_values);

}  // namespace sinkscope::analyzers::stats
