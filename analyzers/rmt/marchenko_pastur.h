// The Marchenko–Pastur law and the distances of an empirical spectrum to it (CORRECTED mode of the
// rmt family; spec topology-spectral §8.7).
//
// Ideas and citations:
//   * MP law (Marchenko & Pastur 1967): eigenvalues of (1/m)·X Xᵀ, X an n×m matrix of i.i.d.
//     entries with variance σ², n/m → γ. Support [a, b] with a = σ²(1−√γ)², b = σ²(1+√γ)²;
//     density ρ(x) = √((b−x)(x−a)) / (2π σ² γ x) on [a, b]; mean σ²; a point mass 1 − 1/γ at 0
//     when γ > 1 (the continuous part then carries 1/γ).
//   * CDF in closed form. With x = c − r·cos t (c = (a+b)/2, r = (b−a)/2, t ∈ [0, π]), ρ(x)dx =
//     r² sin²t / (2πσ²γ (c − r cos t)) dt, whose antiderivative from 0 is
//     c·t + r·sin t − 2√(ab)·atan2(√b·sin(t/2), √a·cos(t/2)). The 1/√x singularity of γ = 1 (a = 0)
//     is thereby harmless (the last term vanishes). At t = π this gives 2πσ²γ·min(1, 1/γ).
//   * ∫₀ˣ F: by parts, x·F(x) − ∫₀ˣ y ρ(y) dy, and y ρ(y) dy = r² sin²t dt / (2πσ²γ), so
//     ∫ y ρ = r² (t/2 − sin 2t / 4) / (2πσ²γ). This makes Wasserstein-1 exact (no quadrature).
//   * Distances of an empirical spectrum λ_1..λ_n (spec §8.7):
//     KL(p‖q) over `bins` equal bins on [0, max(b, λ_max)], p = fraction of eigenvalues per bin
//     (last bin closed), q = MP mass per bin (CDF differences; the atom falls in bin 0), ε added to
//     every p and q and both renormalized, so KL is finite;
//     Kolmogorov–Smirnov sup_x |F_emp(x) − F_MP(x)| (checked on both sides of every jump);
//     Wasserstein-1 ∫ |F_emp − F_MP| dx, integrated exactly piecewise between sorted eigenvalues
//     (and a, b), splitting a piece where F_MP crosses the empirical step.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "core/status.h"

namespace sinkscope::analyzers::rmt {

/// The MP law with ratio γ = n/m > 0 and entry variance σ² > 0.
class MarchenkoPastur {
 public:
  /// InvalidArgument unless γ and σ² are finite and > 0.
  static StatusOr<MarchenkoPastur> Create(double gamma, double variance);

  double gamma() const { return gamma_; }
  double variance() const { return variance_; }
  /// a = σ²(1−√γ)²
  double lower_edge() const { return a_; }
  /// b = σ²(1+√γ)²
  double upper_edge() const { return b_; }
  /// The point mass at 0: max(0, 1 − 1/γ).
  double atom() const { return gamma_ > 1 ? 1.0 - 1.0 / gamma_ : 0.0; }
  /// The mean σ².
  double mean() const { return variance_; }

  /// ρ(x) of the continuous part (0 outside [a, b]; at x = 0 with a = 0, +∞).
  double Density(double x) const;
  /// F(x) = P(λ ≤ x), the atom included for x ≥ 0; in [0, 1], monotone, F(b) = 1.
  double Cdf(double x) const;
  /// ∫₀ˣ F(y) dy for x ≥ 0 (0 for x ≤ 0).
  double IntegratedCdf(double x) const;

 private:
  MarchenkoPastur(double gamma, double variance);
  /// t(x) ∈ [0, π] of the change of variable, x clamped to [a, b].
  double Angle(double x) const;

  double gamma_;
  double variance_;
  double a_;
  double b_;
};

/// How an empirical spectrum compares with the MP law.
struct MarchenkoPasturComparison {
  bool defined = false;  ///< false when σ² ≤ 0 or there are no eigenvalues (distances NaN)
  double gamma = 0;      ///< γ used
  double variance = 0;   ///< σ² used (fitted = mean eigenvalue, or the fixed value)
  bool variance_fitted = true;
  double lower_edge = 0;             ///< a
  double upper_edge = 0;             ///< b
  double kl = 0;                     ///< KL(p‖q), nats
  double ks = 0;                     ///< sup |F_emp − F_MP|
  double w1 = 0;                     ///< ∫ |F_emp − F_MP| dx
  int64_t num_above_upper_edge = 0;  ///< eigenvalues > b (outliers, e.g. a sink spike)
  int bins = 0;                      ///< KL bins
  double histogram_upper = 0;        ///< max(b, λ_max), the right end of the KL bins
};

struct MarchenkoPasturCompareOptions {
  /// γ = n/m of the MP law (> 0).
  double gamma = 1.0;
  /// σ²; unset = fitted as the mean of the eigenvalues.
  std::optional<double> variance;
  /// Equal-width bins of the KL histogram on [0, max(b, λ_max)] (≥ 1).
  int bins = 20;
  /// Added to every bin of p and q before renormalizing (≥ 0).
  double epsilon = 1e-10;
};

/// Compares eigenvalues (finite, any order) with the MP law. Values ≤ n·ε·max|λ| (round-off of
/// zero, negatives included) count as 0. InvalidArgument for bad options or non-finite values.
StatusOr<MarchenkoPasturComparison> CompareWithMarchenkoPastur(
    std::span<const double> eigenvalues, const MarchenkoPasturCompareOptions& options);

}  // namespace sinkscope::analyzers::rmt
