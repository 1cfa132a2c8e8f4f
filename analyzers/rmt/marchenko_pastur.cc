#include "analyzers/rmt/marchenko_pastur.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

namespace sinkscope::analyzers::rmt {
namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

MarchenkoPastur::MarchenkoPastur(double gamma, double variance)
    : gamma_(gamma),
      variance_(variance),
      a_(variance * (1 - std::sqrt(gamma)) * (1 - std::sqrt(gamma))),
      b_(variance * (1 + std::sqrt(gamma)) * (1 + std::sqrt(gamma))) {}

StatusOr<MarchenkoPastur> MarchenkoPastur::Create(double gamma, double variance) {
  if (!std::isfinite(gamma) || gamma <= 0) {
    return InvalidArgumentError(
        "Marchenko-Pastur aspect ratio gamma must be finite and > 0, got {}", gamma);
  }
  if (!std::isfinite(variance) || variance <= 0) {
    return InvalidArgumentError("Marchenko-Pastur variance must be finite and > 0, got {}",
                                variance);
  }
  return MarchenkoPastur(gamma, variance);
}

double MarchenkoPastur::Angle(double x) const {
  const double c = 0.5 * (a_ + b_);
  const double r = 0.5 * (b_ - a_);
  if (x <= a_) return 0.0;
  if (x >= b_) return kPi;
  return std::acos(std::clamp((c - x) / r, -1.0, 1.0));
}

double MarchenkoPastur::Density(double x) const {
  if (x < a_ || x > b_) return 0.0;
  if (x == 0) return std::numeric_limits<double>::infinity();
  return std::sqrt((b_ - x) * (x - a_)) / (2 * kPi * variance_ * gamma_ * x);
}

double MarchenkoPastur::Cdf(double x) const {
  if (x < 0) return 0.0;
  const double continuous_total = gamma_ > 1 ? 1.0 / gamma_ : 1.0;
  double continuous = 0.0;
  if (x >= b_) {
    continuous = continuous_total;
  } else if (x > a_) {
    const double c = 0.5 * (a_ + b_);
    const double r = 0.5 * (b_ - a_);
    const double t = Angle(x);
    const double arc =
        std::atan2(std::sqrt(b_) * std::sin(0.5 * t), std::sqrt(a_) * std::cos(0.5 * t));
    const double integral = c * t + r * std::sin(t) - 2 * std::sqrt(a_ * b_) * arc;
    continuous = std::clamp(integral / (2 * kPi * variance_ * gamma_), 0.0, continuous_total);
  }
  return std::min(1.0, atom() + continuous);
}

double MarchenkoPastur::IntegratedCdf(double x) const {
  if (x <= 0) return 0.0;
  const double r = 0.5 * (b_ - a_);
  const double t = Angle(x);
  const double first_moment =
      r * r * (0.5 * t - 0.25 * std::sin(2 * t)) / (2 * kPi * variance_ * gamma_);
  return x * Cdf(x) - first_moment;
}

StatusOr<MarchenkoPasturComparison> CompareWithMarchenkoPastur(
    std::span<const double> eigenvalues, const MarchenkoPasturCompareOptions& options) {
  if (options.bins < 1) return InvalidArgumentError("mp_bins must be >= 1, got {}", options.bins);
  if (!std::isfinite(options.epsilon) || options.epsilon < 0) {
    return InvalidArgumentError("kl_epsilon must be finite and >= 0, got {}", options.epsilon);
  }
  if (!std::isfinite(options.gamma) || options.gamma <= 0) {
    return InvalidArgumentError("aspect_ratio must be finite and > 0, got {}", options.gamma);
  }
  if (options.variance && (!std::isfinite(*options.variance) || *options.variance <= 0)) {
    return InvalidArgumentError("mp_variance must be finite and > 0, got {}", *options.variance);
  }
  std::vector<double> lambda(eigenvalues.begin(), eigenvalues.end());
  double largest = 0;
  for (double v : lambda) {
    if (!std::isfinite(v)) return InvalidArgumentError("eigenvalue {} is not finite", v);
    largest = std::max(largest, std::abs(v));
  }
  // Round-off of zero (numpy's matrix_rank tolerance, n·ε·max|λ|) is zero: otherwise the zero
  // eigenvalues of a γ > 1 spectrum split into exact zeros and ±1e-15, and KS compares half of
  // them with the atom at 0.
  const double zero_tol =
      static_cast<double>(lambda.size()) * std::numeric_limits<double>::epsilon() * largest;
  for (double& v : lambda) {
    if (v <= zero_tol) v = 0.0;
  }
  std::sort(lambda.begin(), lambda.end());

  MarchenkoPasturComparison out;
  out.gamma = options.gamma;
  out.bins = options.bins;
  out.variance_fitted = !options.variance.has_value();
  out.kl = out.ks = out.w1 = kNaN;
  const auto n = static_cast<double>(lambda.size());
  double mean = 0;
  for (double v : lambda) mean += v;
  mean = lambda.empty() ? 0.0 : mean / n;
  out.variance = options.variance.value_or(mean);
  if (lambda.empty() || !(out.variance > 0)) return out;  // nothing to compare
  auto mp_or = MarchenkoPastur::Create(options.gamma, out.variance);
  if (!mp_or.ok()) return mp_or.status();
  const MarchenkoPastur& mp = *mp_or;
  out.defined = true;
  out.lower_edge = mp.lower_edge();
  out.upper_edge = mp.upper_edge();
  for (double v : lambda) out.num_above_upper_edge += v > mp.upper_edge() ? 1 : 0;

  // KL over equal bins on [0, U]: p from counts, q from CDF differences, ε-smoothed.
  const double upper = std::max(mp.upper_edge(), lambda.back());
  out.histogram_upper = upper;
  const auto bins = static_cast<size_t>(options.bins);
  std::vector<double> p(bins, 0.0), q(bins, 0.0);
  for (double v : lambda) {
    auto k = static_cast<size_t>(std::floor(v / upper * static_cast<double>(bins)));
    p[std::min(k, bins - 1)] += 1.0 / n;
  }
  double prev = 0.0;  // F(0⁻) = 0: the atom at 0 lands in bin 0
  for (size_t k = 0; k < bins; ++k) {
    const double edge = k + 1 == bins ? upper : upper * static_cast<double>(k + 1) / bins;
    const double cdf = mp.Cdf(edge);
    q[k] = std::max(0.0, cdf - prev);
    prev = cdf;
  }
  double sp = 0, sq = 0;
  for (size_t k = 0; k < bins; ++k) {
    p[k] += options.epsilon;
    q[k] += options.epsilon;
    sp += p[k];
    sq += q[k];
  }
  double kl = 0;
  for (size_t k = 0; k < bins; ++k) {
    const double pk = p[k] / sp, qk = q[k] / sq;
    if (pk > 0) kl += pk * std::log(pk / qk);
  }
  out.kl = kl;

  // KS over both sides of every jump of the empirical CDF; F_MP(0⁻) = 0 excludes the atom.
  double ks = 0;
  for (size_t i = 0; i < lambda.size();) {
    size_t j = i;
    while (j < lambda.size() && lambda[j] == lambda[i]) ++j;
    const double v = lambda[i];
    const double f = mp.Cdf(v);
    const double f_left = v == 0 ? 0.0 : f;
    ks = std::max({ks, std::abs(static_cast<double>(j) / n - f),
                   std::abs(static_cast<double>(i) / n - f_left)});
    i = j;
  }
  out.ks = ks;

  // W1: pieces between 0, the eigenvalues, a and b; on each the empirical CDF is a constant c.
  std::vector<double> cuts = lambda;
  cuts.push_back(0.0);
  cuts.push_back(mp.lower_edge());
  cuts.push_back(mp.upper_edge());
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  // On a piece where c − F keeps one sign, ∫ |c − F| = |c·Δx − ΔG| with G = ∫F (IntegratedCdf).
  // F and G at every cut once (each is shared by the two pieces around it).
  std::vector<double> f(cuts.size()), g(cuts.size());
  for (size_t k = 0; k < cuts.size(); ++k) {
    f[k] = mp.Cdf(cuts[k]);
    g[k] = mp.IntegratedCdf(cuts[k]);
  }
  double w1 = 0;
  size_t below = 0;  // eigenvalues ≤ the piece's left end
  for (size_t k = 0; k + 1 < cuts.size(); ++k) {
    const double x0 = cuts[k], x1 = cuts[k + 1];
    while (below < lambda.size() && lambda[below] <= x0) ++below;
    const double c = static_cast<double>(below) / n;
    const double d0 = c - f[k], d1 = c - f[k + 1];
    if (d0 > 0 && d1 < 0) {
      // F crosses c inside: solve F(x*) = c by Newton steps with the density (F' = ρ) kept
      // inside a bracket that shrinks like bisection's, falling back to the midpoint when a step
      // leaves it (~5 CDF evaluations instead of ~50 for bisection alone), then two one-signed
      // pieces.
      double lo = x0, hi = x1, x = 0.5 * (x0 + x1);
      for (int it = 0; it < 200; ++it) {
        const double fx = mp.Cdf(x) - c;
        (fx < 0 ? lo : hi) = x;
        const double rho = mp.Density(x);
        double next = rho > 0 && std::isfinite(rho) ? x - fx / rho : 0.5 * (lo + hi);
        if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
        if (next == x || !(next > lo && next < hi)) break;
        x = next;
      }
      const double gx = mp.IntegratedCdf(x);
      w1 += std::abs(c * (x - x0) - (gx - g[k])) + std::abs(c * (x1 - x) - (g[k + 1] - gx));
    } else {
      w1 += std::abs(c * (x1 - x0) - (g[k + 1] - g[k]));
    }
  }
  out.w1 = w1;
  return out;
}

}  // namespace sinkscope::analyzers::rmt
