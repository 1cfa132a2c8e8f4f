// Special functions and distributions behind the p-values of analyzers/stats: the regularized
// incomplete beta function, Student's t and the standard normal.
//
// I_x(a, b) is evaluated by its continued fraction (modified Lentz iteration), on the side of
// x < (a + 1)/(a + b + 2) where it converges fast, using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a)
// on the other side (Abramowitz & Stegun 26.5.8; Press et al., Numerical Recipes §6.4 for the
// evaluation strategy). Tail probabilities are computed directly, not as 1 − CDF, so tiny p-values
// keep their relative accuracy.
#pragma once

namespace sinkscope::analyzers::stats {

/// Regularized incomplete beta I_x(a, b) for a, b > 0 and 0 ≤ x ≤ 1 (NaN outside).
double RegularizedIncompleteBeta(double a, double b, double x);

/// P(T > t) for Student's t with `df` > 0 degrees of freedom (df = +∞ is the normal).
double StudentTSurvival(double t, double df);

/// Two-sided p-value P(|T| ≥ |t|) for Student's t with `df` degrees of freedom.
double StudentTTwoSided(double t, double df);

/// Regularized lower incomplete gamma P(a, x) = γ(a, x)/Γ(a), a > 0, x ≥ 0 (NaN outside). The
/// series (A&S 6.5.29) for x < a + 1, else 1 − the continued fraction of Q (A&S 6.5.31).
double RegularizedLowerGamma(double a, double x);

/// Regularized upper incomplete gamma Q(a, x) = 1 − P(a, x), evaluated directly on the side where
/// it is small.
double RegularizedUpperGamma(double a, double x);

/// P(X > x) for the χ² distribution with `dof` > 0 degrees of freedom: Q(dof/2, x/2).
double ChiSquaredSurvival(double x, double dof);

/// P(X ≤ x) for the χ² distribution: P(dof/2, x/2); 0 for x ≤ 0.
double ChiSquaredCdf(double x, double dof);

/// Φ(z), the standard normal CDF.
double NormalCdf(double z);

/// 1 − Φ(z), computed without cancellation.
double NormalSurvival(double z);

}  // namespace sinkscope::analyzers::stats
