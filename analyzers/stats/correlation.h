// Correlation across paired samples: Pearson's r and Spearman's ρ with two-sided p-values, and
// Fisher-z averaging of correlations (spec paper-topology-spectral §8.13: average r across layers
// through z = atanh r, not r itself).
//
// p-values follow scipy.stats (1.17): Pearson's from the exact null distribution of r for
// bivariate normal data (r is a scaled Beta(n/2 − 1, n/2 − 1), the same as Student's t with n − 2
// degrees of freedom); Spearman's from Student's t with n − 2 degrees of freedom on
// t = ρ·√((n − 2)/(1 − ρ²)), applied to average ranks.
#pragma once

#include <cstdint>
#include <span>

#include "core/status.h"

namespace sinkscope::analyzers::stats {

struct Correlation {
  double r = 0;        ///< Pearson r, or Spearman ρ (Pearson r of the average ranks)
  double p_value = 0;  ///< two-sided; NaN when r is
  int64_t n = 0;       ///< pairs used
  /// A sample with zero variance makes r undefined: r and p are NaN (scipy warns and does the
  /// same). A NaN in either sample also gives NaN (scipy's default `propagate`).
  bool constant_input = false;
  int64_t num_nan = 0;
};

/// Pearson's r. InvalidArgument for different lengths or fewer than 2 pairs.
StatusOr<Correlation> Pearson(std::span<const double> x, std::span<const double> y);

/// Pearson's r alone, without the p-value (p_value is NaN): for callers that use only r. The
/// same r, n, constant_input and num_nan as Pearson(). InvalidArgument as for Pearson().
StatusOr<Correlation> PearsonCoefficient(std::span<const double> x, std::span<const double> y);

/// x centred and scaled to unit length, u = (x − x̄)/‖x − x̄‖, into `unit` (x's length; it may be
/// x itself). Pearson's r of two samples is then the dot product of their u (PearsonFromUnit):
/// Pearson() and PearsonCoefficient() compute it so, and callers correlating many samples with one
/// centre that one once. False (`unit` unspecified) when x has no such form: fewer than 2 values, a
/// constant x (zero variance), or a NaN or infinity in it.
bool CentreToUnit(std::span<const double> x, std::span<double> unit);

/// Pearson's r from two CentreToUnit results of one length: u·v clamped to [−1, 1].
double PearsonFromUnit(std::span<const double> u, std::span<const double> v);

/// Spearman's ρ. InvalidArgument for different lengths or fewer than 2 pairs.
StatusOr<Correlation> Spearman(std::span<const double> x, std::span<const double> y);

/// Spearman's ρ from the samples' average ranks (AverageRanks or AverageRanksInOrder of NaN-free
/// samples): the same result as Spearman on the samples. InvalidArgument as for Spearman().
StatusOr<Correlation> SpearmanFromRanks(std::span<const double> rx, std::span<const double> ry);

/// Fisher-z average: tanh(mean(atanh r_i)); with `weights` (e.g. n_i − 3), a weighted mean of
/// the z values. r = ±1 maps to z = ±∞ (so a single ±1 dominates; +1 and −1 together give NaN).
/// InvalidArgument for an empty list, |r| > 1, or weights of another length or not > 0.
StatusOr<double> FisherZMean(std::span<const double> r, std::span<const double> weights = {});

}  // namespace sinkscope::analyzers::stats
