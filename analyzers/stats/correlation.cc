#include "analyzers/stats/correlation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "analyzers/stats/descriptive.h"
#include "analyzers/stats/distributions.h"

namespace sinkscope::analyzers::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Status CheckPairs(std::span<const double> x, std::span<const double> y) {
  if (x.size() != y.size()) {
    return InvalidArgumentError("paired samples differ in length: {} and {}", x.size(), y.size());
  }
  if (x.size() < 2) return InvalidArgumentError("a correlation needs ≥ 2 pairs, got {}", x.size());
  return OkStatus();
}

int64_t CountNaN(std::span<const double> x, std::span<const double> y) {
  int64_t count = 0;
  for (size_t i = 0; i < x.size(); ++i) count += std::isnan(x[i]) || std::isnan(y[i]);
  return count;
}

/// The result for samples holding NaN (scipy's `propagate`: r and p NaN), or nullopt.
std::optional<Correlation> NaNCorrelation(std::span<const double> x, std::span<const double> y) {
  const int64_t nan = CountNaN(x, y);
  if (nan == 0) return std::nullopt;
  Correlation c;
  c.n = static_cast<int64_t>(x.size());
  c.num_nan = nan;
  c.r = c.p_value = kNaN;
  return c;
}

/// Σ a_i·b_i as four partial sums: four independent chains of additions instead of one serial
/// chain, whose latency bounds a plain loop (GCC does not reorder floating-point sums itself).
double Dot4(const double* a, const double* b, size_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

/// r of two samples known to be finite (scipy likewise normalizes each centred vector by its norm
/// before the dot product).
Correlation PearsonR(std::span<const double> x, std::span<const double> y) {
  Correlation c;
  c.n = static_cast<int64_t>(x.size());
  std::vector<double> ux(x.size()), uy(y.size());
  if (!CentreToUnit(x, ux) || !CentreToUnit(y, uy)) {
    c.constant_input = true;
    c.r = c.p_value = kNaN;
    return c;
  }
  c.r = PearsonFromUnit(ux, uy);
  return c;
}

}  // namespace

bool CentreToUnit(std::span<const double> x, std::span<double> unit) {
  const size_t n = x.size();
  if (n < 2) return false;
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;  // four chains, as in Dot4
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += x[i];
    s1 += x[i + 1];
    s2 += x[i + 2];
    s3 += x[i + 3];
  }
  for (; i < n; ++i) s0 += x[i];
  const double mean = ((s0 + s1) + (s2 + s3)) / static_cast<double>(n);
  for (i = 0; i < n; ++i) unit[i] = x[i] - mean;
  const double norm = std::sqrt(Dot4(unit.data(), unit.data(), n));
  // Also false for a NaN or infinity in x (the norm is then NaN).
  if (!(norm > 0)) return false;
  for (i = 0; i < n; ++i) unit[i] /= norm;
  return true;
}

double PearsonFromUnit(std::span<const double> u, std::span<const double> v) {
  return std::clamp(Dot4(u.data(), v.data(), u.size()), -1.0, 1.0);
}

StatusOr<Correlation> Pearson(std::span<const double> x, std::span<const double> y) {
  RETURN_IF_ERROR(CheckPairs(x, y));
  if (auto nan = NaNCorrelation(x, y)) return *nan;
  Correlation c = PearsonR(x, y);
  if (c.constant_input) return c;
  if (c.n == 2) {
    c.p_value = 1.0;  // two points always lie on a line
    return c;
  }
  // Under H0, (r + 1)/2 ~ Beta(n/2 − 1, n/2 − 1): P(|R| ≥ |r|) = 2·I_{(1−|r|)/2}(ab, ab).
  const double ab = 0.5 * static_cast<double>(c.n) - 1.0;
  c.p_value = std::min(1.0, 2.0 * RegularizedIncompleteBeta(ab, ab, 0.5 * (1.0 - std::fabs(c.r))));
  return c;
}

StatusOr<Correlation> PearsonCoefficient(std::span<const double> x, std::span<const double> y) {
  RETURN_IF_ERROR(CheckPairs(x, y));
  if (auto nan = NaNCorrelation(x, y)) return *nan;
  Correlation c = PearsonR(x, y);
  if (!c.constant_input) c.p_value = kNaN;
  return c;
}

StatusOr<Correlation> Spearman(std::span<const double> x, std::span<const double> y) {
  RETURN_IF_ERROR(CheckPairs(x, y));
  if (auto nan = NaNCorrelation(x, y)) return *nan;
  return SpearmanFromRanks(AverageRanks(x), AverageRanks(y));
}

StatusOr<Correlation> SpearmanFromRanks(std::span<const double> rx, std::span<const double> ry) {
  RETURN_IF_ERROR(CheckPairs(rx, ry));
  if (auto nan = NaNCorrelation(rx, ry)) return *nan;
  Correlation c = PearsonR(rx, ry);
  if (c.constant_input) return c;
  const double df = static_cast<double>(c.n) - 2.0;
  if (df <= 0) {
    c.p_value = kNaN;  // scipy: t with 0 degrees of freedom
    return c;
  }
  const double t = c.r * std::sqrt(df / ((c.r + 1.0) * (1.0 - c.r)));
  c.p_value = StudentTTwoSided(t, df);
  return c;
}

StatusOr<double> FisherZMean(std::span<const double> r, std::span<const double> weights) {
  if (r.empty()) return InvalidArgumentError("Fisher-z average of an empty list");
  if (!weights.empty() && weights.size() != r.size()) {
    return InvalidArgumentError("{} weights for {} correlations", weights.size(), r.size());
  }
  double sum = 0, total = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    if (!(std::fabs(r[i]) <= 1.0)) {
      return InvalidArgumentError("correlation {} at index {} is not in [−1, 1]", r[i], i);
    }
    const double w = weights.empty() ? 1.0 : weights[i];
    if (!(w > 0)) return InvalidArgumentError("weight {} at index {} is not > 0", w, i);
    sum += w * std::atanh(r[i]);
    total += w;
  }
  return std::tanh(sum / total);
}

}  // namespace sinkscope::analyzers::stats
