#include "analyzers/stats/hypothesis_tests.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "analyzers/stats/descriptive.h"
#include "analyzers/stats/distributions.h"

namespace sinkscope::analyzers::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int64_t CountNaN(std::span<const double> v) {
  return std::count_if(v.begin(), v.end(), [](double x) { return std::isnan(x); });
}

TestResult NaNResult(std::string method, int64_t n, int64_t nan) {
  TestResult r;
  r.method = std::move(method);
  r.n = n;
  r.num_nan = nan;
  r.statistic = r.p_value = r.df = kNaN;
  return r;
}

/// P(R+ = k) for k = 0..n(n+1)/2 without ties: the number of subsets of {1..n} with sum k, / 2ⁿ.
std::vector<double> SignedRankNull(int64_t n) {
  const int64_t max_sum = n * (n + 1) / 2;
  std::vector<double> counts(static_cast<size_t>(max_sum + 1), 0.0);
  counts[0] = 1.0;
  for (int64_t r = 1; r <= n; ++r) {
    for (int64_t k = max_sum; k >= r; --k) counts[k] += counts[k - r];
  }
  const double total = std::ldexp(1.0, static_cast<int>(n));
  for (double& c : counts) c /= total;
  return counts;
}

}  // namespace

StatusOr<TestResult> OneSampleTTest(std::span<const double> x, double mu) {
  if (x.size() < 2) {
    return InvalidArgumentError("a one-sample t test needs ≥ 2 values, got {}", x.size());
  }
  const auto n = static_cast<int64_t>(x.size());
  const int64_t nan = CountNaN(x);
  if (nan > 0) return NaNResult("one-sample-t", n, nan);
  TestResult r;
  r.method = "one-sample-t";
  r.n = n;
  r.df = static_cast<double>(n - 1);
  r.statistic = (Mean(x) - mu) / std::sqrt(Variance(x, 1) / static_cast<double>(n));
  r.p_value = StudentTTwoSided(r.statistic, r.df);
  return r;
}

StatusOr<TestResult> FisherCombine(std::span<const double> p_values, double epsilon,
                                   bool paper_one_minus_cdf) {
  double x = 0;
  int64_t k = 0;
  int64_t nan = 0;
  for (size_t i = 0; i < p_values.size(); ++i) {
    const double p = p_values[i];
    if (std::isnan(p)) {
      ++nan;
      continue;
    }
    if (p < 0 || p > 1) {
      return InvalidArgumentError("p-value {} at index {} is not in [0, 1]", p, i);
    }
    x += -2.0 * std::log(p + epsilon);
    ++k;
  }
  if (k == 0) return InvalidArgumentError("Fisher's method needs ≥ 1 p-value that is not NaN");
  TestResult r;
  r.method = "fisher";
  r.n = k;
  r.num_nan = nan;
  r.statistic = x;
  r.df = 2.0 * static_cast<double>(k);
  // The notebooks' `1 - chi2.cdf(X, 2K)` loses every digit below 1e-16; the survival function
  // keeps them. A negative X (possible only through epsilon) has CDF 0.
  r.p_value = paper_one_minus_cdf ? 1.0 - ChiSquaredCdf(x, r.df) : ChiSquaredSurvival(x, r.df);
  return r;
}

StatusOr<TestResult> WelchTTest(std::span<const double> x, std::span<const double> y) {
  if (x.size() < 2 || y.size() < 2) {
    return InvalidArgumentError("Welch's t test needs ≥ 2 values per sample, got {} and {}",
                                x.size(), y.size());
  }
  const auto n = static_cast<int64_t>(x.size() + y.size());
  const int64_t nan = CountNaN(x) + CountNaN(y);
  if (nan > 0) return NaNResult("welch", n, nan);
  const double n1 = static_cast<double>(x.size());
  const double n2 = static_cast<double>(y.size());
  const double vn1 = Variance(x, 1) / n1;
  const double vn2 = Variance(y, 1) / n2;
  double df = (vn1 + vn2) * (vn1 + vn2) / (vn1 * vn1 / (n1 - 1) + vn2 * vn2 / (n2 - 1));
  if (std::isnan(df)) df = 1.0;  // scipy: both variances zero
  TestResult r;
  r.method = "welch";
  r.n = n;
  r.df = df;
  r.statistic = (Mean(x) - Mean(y)) / std::sqrt(vn1 + vn2);
  r.p_value = StudentTTwoSided(r.statistic, df);
  return r;
}

StatusOr<TestResult> PairedTTest(std::span<const double> x, std::span<const double> y) {
  if (x.size() != y.size()) {
    return InvalidArgumentError("paired samples differ in length: {} and {}", x.size(), y.size());
  }
  if (x.size() < 2)
    return InvalidArgumentError("a paired t test needs ≥ 2 pairs, got {}", x.size());
  const auto n = static_cast<int64_t>(x.size());
  const int64_t nan = CountNaN(x) + CountNaN(y);
  if (nan > 0) return NaNResult("paired-t", n, nan);
  std::vector<double> d(x.size());
  for (size_t i = 0; i < d.size(); ++i) d[i] = x[i] - y[i];
  TestResult r;
  r.method = "paired-t";
  r.n = n;
  r.df = static_cast<double>(n - 1);
  r.statistic = Mean(d) / std::sqrt(Variance(d, 1) / static_cast<double>(n));
  r.p_value = StudentTTwoSided(r.statistic, r.df);
  return r;
}

StatusOr<TestResult> WilcoxonSignedRank(std::span<const double> x, std::span<const double> y) {
  if (x.size() != y.size()) {
    return InvalidArgumentError("paired samples differ in length: {} and {}", x.size(), y.size());
  }
  if (x.empty()) return InvalidArgumentError("the Wilcoxon test needs ≥ 1 pair");
  const auto n_total = static_cast<int64_t>(x.size());
  const int64_t nan = CountNaN(x) + CountNaN(y);
  if (nan > 0) return NaNResult("wilcoxon", n_total, nan);

  std::vector<double> d;  // non-zero differences (zero_method "wilcox")
  int64_t zeros = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double diff = x[i] - y[i];
    if (diff == 0) {
      ++zeros;
    } else {
      d.push_back(diff);
    }
  }
  TestResult r;
  r.n = n_total;
  r.df = kNaN;
  r.num_zero_differences = zeros;
  const auto count = static_cast<int64_t>(d.size());
  std::vector<double> magnitude(d.size());
  for (size_t i = 0; i < d.size(); ++i) magnitude[i] = std::fabs(d[i]);
  const std::vector<double> ranks = AverageRanks(magnitude);
  double r_plus = 0, r_minus = 0;
  for (size_t i = 0; i < d.size(); ++i) (d[i] > 0 ? r_plus : r_minus) += ranks[i];
  r.statistic = std::min(r_plus, r_minus);

  // Tie groups of |d| (sizes t): the variance loses Σ(t³ − t)/48.
  std::vector<double> sorted = magnitude;
  std::sort(sorted.begin(), sorted.end());
  double tie_term = 0;
  bool has_ties = false;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[i]) ++j;
    const double t = static_cast<double>(j - i + 1);
    if (t > 1) has_ties = true;
    tie_term += t * t * t - t;
    i = j + 1;
  }

  std::string method;
  if (n_total > 50) {
    method = "wilcoxon-normal";
  } else if (!has_ties && zeros == 0) {
    method = "wilcoxon-exact";
  } else if (n_total <= 13) {
    method = "wilcoxon-permutation";
  } else {
    method = "wilcoxon-normal";
  }
  r.method = method;
  if (count == 0) {
    r.p_value = kNaN;
    return r;
  }

  if (method == "wilcoxon-normal") {
    const double c = static_cast<double>(count);
    const double mean = c * (c + 1) / 4;
    const double se = std::sqrt((c * (c + 1) * (2 * c + 1) - tie_term / 2) / 24);
    const double z = (r_plus - mean) / se;
    r.p_value = std::min(1.0, 2.0 * std::min(NormalCdf(z), NormalSurvival(z)));
  } else if (method == "wilcoxon-exact") {
    // R+ has no ties here, so it is an integer; p = 2·min(P(R+ ≥ r+), P(R+ ≤ r+)).
    const std::vector<double> pmf = SignedRankNull(count);
    const auto k = static_cast<int64_t>(std::llround(r_plus));
    double cdf = 0, sf = 0;
    for (int64_t i = 0; i <= k; ++i) cdf += pmf[i];
    for (auto i = static_cast<size_t>(k); i < pmf.size(); ++i) sf += pmf[i];
    r.p_value = std::min(1.0, 2.0 * std::min(cdf, sf));
  } else {
    // Every sign assignment of the non-zero differences (zeros stay zero and rankless), counted
    // as scipy.stats.permutation_test does for an exact enumeration: values within a relative
    // 100·eps of the observed R+ count as equal.
    const double gamma = std::fabs(100 * std::numeric_limits<double>::epsilon() * r_plus);
    const int64_t flips = int64_t{1} << n_total;
    int64_t less = 0, greater = 0;
    for (int64_t mask = 0; mask < flips; ++mask) {
      // Bit i of mask flips the sign of pair i (zeros included, as scipy flips every pair).
      double s = 0;
      size_t nz = 0;
      for (int64_t i = 0; i < n_total; ++i) {
        const double diff = x[static_cast<size_t>(i)] - y[static_cast<size_t>(i)];
        if (diff == 0) continue;
        const bool positive = ((mask >> i) & 1) ? diff < 0 : diff > 0;
        if (positive) s += ranks[nz];
        ++nz;
      }
      less += s <= r_plus + gamma;
      greater += s >= r_plus - gamma;
    }
    const double total = static_cast<double>(flips);
    r.p_value = std::min(1.0, 2.0 * std::min(less / total, greater / total));
  }
  return r;
}

}  // namespace sinkscope::analyzers::stats
