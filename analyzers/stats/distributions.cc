#include "analyzers/stats/distributions.h"

#include <cmath>
#include <limits>

namespace sinkscope::analyzers::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// The continued fraction of I_x(a, b) (A&S 26.5.8), by the modified Lentz method; converges
/// quickly for x < (a + 1)/(a + b + 2).
double BetaContinuedFraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  constexpr double kEpsilon = 1e-16;
  constexpr int kMaxIterations = 10000;
  double c = 1.0;
  double d = 1.0 - (a + b) * x / (a + 1.0);
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double f = d;
  for (int m = 1; m <= kMaxIterations; ++m) {
    const double two_m = 2.0 * m;
    // Even step: d_{2m} = m (b − m) x / ((a + 2m − 1)(a + 2m)).
    double num = m * (b - m) * x / ((a + two_m - 1.0) * (a + two_m));
    d = 1.0 + num * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + num / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    f *= d * c;
    // Odd step: d_{2m+1} = −(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)).
    num = -(a + m) * (a + b + m) * x / ((a + two_m) * (a + two_m + 1.0));
    d = 1.0 + num * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + num / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    f *= delta;
    if (std::fabs(delta - 1.0) < kEpsilon) break;
  }
  return f;
}

}  // namespace

double RegularizedIncompleteBeta(double a, double b, double x) {
  if (!(a > 0) || !(b > 0) || !(x >= 0) || !(x <= 1)) return kNaN;
  if (x == 0) return 0.0;
  if (x == 1) return 1.0;
  // x^a (1 − x)^b / B(a, b), in logs.
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1.0) / (a + b + 2.0)) {
    return std::exp(log_front) * BetaContinuedFraction(a, b, x) / a;
  }
  return 1.0 - std::exp(log_front) * BetaContinuedFraction(b, a, 1.0 - x) / b;
}

double StudentTSurvival(double t, double df) {
  if (std::isnan(t) || !(df > 0)) return kNaN;
  if (std::isinf(df)) return NormalSurvival(t);
  if (std::isinf(t)) return t > 0 ? 0.0 : 1.0;
  // P(|T| > |t|) = I_{df/(df + t²)}(df/2, 1/2).
  const double tail = 0.5 * RegularizedIncompleteBeta(0.5 * df, 0.5, df / (df + t * t));
  return t >= 0 ? tail : 1.0 - tail;
}

double StudentTTwoSided(double t, double df) {
  if (std::isnan(t) || !(df > 0)) return kNaN;
  if (std::isinf(df)) return 2.0 * NormalSurvival(std::fabs(t));
  if (std::isinf(t)) return 0.0;
  return RegularizedIncompleteBeta(0.5 * df, 0.5, df / (df + t * t));
}

namespace {

/// P(a, x) by its power series (A&S 6.5.29); converges fast for x < a + 1.
double LowerGammaSeries(double a, double x) {
  constexpr double kEpsilon = 1e-16;
  constexpr int kMaxIterations = 10000;
  double term = 1.0 / a;
  double sum = term;
  for (int k = 1; k <= kMaxIterations; ++k) {
    term *= x / (a + k);
    sum += term;
    if (std::fabs(term) < std::fabs(sum) * kEpsilon) break;
  }
  return std::exp(a * std::log(x) - x - std::lgamma(a)) * sum;
}

/// Q(a, x) by its continued fraction (A&S 6.5.31), modified Lentz; converges for x ≥ a + 1.
double UpperGammaFraction(double a, double x) {
  constexpr double kTiny = 1e-300;
  constexpr double kEpsilon = 1e-16;
  constexpr int kMaxIterations = 10000;
  double b = x + 1.0 - a;
  double c = 1.0 / kTiny;
  double d = 1.0 / b;
  double f = d;
  for (int i = 1; i <= kMaxIterations; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    f *= delta;
    if (std::fabs(delta - 1.0) < kEpsilon) break;
  }
  return std::exp(a * std::log(x) - x - std::lgamma(a)) * f;
}

}  // namespace

double RegularizedLowerGamma(double a, double x) {
  if (!(a > 0) || !(x >= 0)) return kNaN;
  if (x == 0) return 0.0;
  if (std::isinf(x)) return 1.0;
  return x < a + 1.0 ? LowerGammaSeries(a, x) : 1.0 - UpperGammaFraction(a, x);
}

double RegularizedUpperGamma(double a, double x) {
  if (!(a > 0) || !(x >= 0)) return kNaN;
  if (x == 0) return 1.0;
  if (std::isinf(x)) return 0.0;
  return x < a + 1.0 ? 1.0 - LowerGammaSeries(a, x) : UpperGammaFraction(a, x);
}

double ChiSquaredSurvival(double x, double dof) {
  if (std::isnan(x) || !(dof > 0)) return kNaN;
  if (x <= 0) return 1.0;
  return RegularizedUpperGamma(0.5 * dof, 0.5 * x);
}

double ChiSquaredCdf(double x, double dof) {
  if (std::isnan(x) || !(dof > 0)) return kNaN;
  if (x <= 0) return 0.0;
  return RegularizedLowerGamma(0.5 * dof, 0.5 * x);
}

double NormalCdf(double z) {
  return 0.5 * std::erfc(-z / std::sqrt(2.0));
}

double NormalSurvival(double z) {
  return 0.5 * std::erfc(z / std::sqrt(2.0));
}

}  // namespace sinkscope::analyzers::stats
