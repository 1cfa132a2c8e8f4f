#include "analyzers/common/small_symmetric_eigen.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <vector>

#include "analyzers/common/simd4.h"

namespace sinkscope::analyzers {
namespace {

using simd4::AnyLane;
using simd4::kLanes;
using simd4::M4;
using simd4::Pack;
using simd4::V4;

constexpr double kEpsilon = std::numeric_limits<double>::epsilon();

/// Householder tridiagonalization of the four matrices interleaved in a (n×n, column-major, lower
/// triangle used, lane l = matrix l). Writes the diagonals to d and the off-diagonals to e (e[n−1]
/// = 0); scratch holds 4n vectors. Per column j, as LAPACK dsytd2/dlarfg: x = A(j+1:n, j),
/// β = −sign(x₀)‖x‖, τ = (β − x₀)/β, v = x/(x₀ − β) with v₀ = 1, then A ← H A H with H = I − τvvᵀ
/// by p = τ A v, w = p − (τ/2)(pᵀv) v, A −= v wᵀ + w vᵀ (lower triangle only). A lane whose x is
/// already e₁-aligned (‖x(1:)‖ = 0) gets τ = 0, H = I, as in dlarfg.
///
/// Four lanes of a 48×48 matrix are 37 KB of lower triangle, more than the 32 KB L1 cache, so
/// each pass over the trailing matrix streams it from L2. One pass per column instead of two:
/// the rank-2 update of step j is fused with the product A v' of step j+1 (v' only needs the
/// first updated column, which is updated first). Two passes: 7.9 µs per matrix (n = 48, with the
/// copy-in); fused: 6.4 µs.
__attribute__((target_clones("avx2", "default"))) void TridiagonalizeFour(V4* a, V4* scratch, V4* d,
                                                                          V4* e, int64_t n) {
  const V4 zero = {};
  if (n == 1) {
    d[0] = a[0];
    e[0] = zero;
    return;
  }
  V4* v = scratch;
  V4* vn = scratch + n;
  V4* p = scratch + 2 * n;
  V4* pn = scratch + 3 * n;
  // The reflector of column j (already updated by the steps before it) into out(j+1:), and τ.
  auto reflect = [&](int64_t j, V4* out, V4& tau) {
    const V4* col = a + j * n;
    const V4 alpha = col[j + 1];
    V4 sigma = zero;
    for (int64_t i = j + 2; i < n; ++i) sigma += col[i] * col[i];
    V4 beta, scale;
    simd4::Householder(alpha, sigma, tau, beta, scale);
    d[j] = col[j];
    e[j] = beta;
    out[j + 1] = zero + 1.0;
    for (int64_t i = j + 2; i < n; ++i) out[i] = col[i] * scale;
  };
  V4 tau;
  reflect(0, v, tau);
  // p = A(1:, 1:) v for the first step alone; every later product comes out of the fused pass.
  for (int64_t c = 1; c < n; ++c) p[c] = zero;
  for (int64_t c = 1; c < n; ++c) {
    const V4* ac = a + c * n;
    V4 dot = ac[c] * v[c];
    for (int64_t r = c + 1; r < n; ++r) {
      p[r] += ac[r] * v[c];
      dot += ac[r] * v[r];
    }
    p[c] += dot;
  }
  for (int64_t j = 0; j + 1 < n; ++j) {
    const int64_t first = j + 1;
    // w = τ p − (τ/2)(τ pᵀv) v, in p.
    V4 pv = zero;
    for (int64_t c = first; c < n; ++c) {
      p[c] *= tau;
      pv += p[c] * v[c];
    }
    const V4 k = -0.5 * tau * pv;
    for (int64_t c = first; c < n; ++c) p[c] += k * v[c];
    const V4* w = p;
    {
      V4* af = a + first * n;
      const V4 vf = v[first], wf = w[first];
      for (int64_t r = first; r < n; ++r) af[r] -= v[r] * wf + w[r] * vf;
    }
    if (first + 1 == n) break;
    V4 tau_next;
    reflect(first, vn, tau_next);
    for (int64_t c = first + 1; c < n; ++c) pn[c] = zero;
    for (int64_t c = first + 1; c < n; ++c) {
      V4* ac = a + c * n;
      const V4 vc = v[c], wc = w[c], vnc = vn[c];
      const V4 diagonal = ac[c] - (v[c] * wc + w[c] * vc);
      ac[c] = diagonal;
      V4 dot0 = diagonal * vnc, dot1 = zero;
      int64_t r = c + 1;
      for (; r + 1 < n; r += 2) {
        const V4 x0 = ac[r] - (v[r] * wc + w[r] * vc);
        const V4 x1 = ac[r + 1] - (v[r + 1] * wc + w[r + 1] * vc);
        ac[r] = x0;
        ac[r + 1] = x1;
        pn[r] += x0 * vnc;
        pn[r + 1] += x1 * vnc;
        dot0 += x0 * vn[r];
        dot1 += x1 * vn[r + 1];
      }
      if (r < n) {
        const V4 x0 = ac[r] - (v[r] * wc + w[r] * vc);
        ac[r] = x0;
        pn[r] += x0 * vnc;
        dot0 += x0 * vn[r];
      }
      pn[c] += dot0 + dot1;
    }
    std::swap(v, vn);
    std::swap(p, pn);
    tau = tau_next;
  }
  d[n - 1] = a[(n - 1) * n + (n - 1)];
  e[n - 1] = zero;
}

/// Per tridiagonal, what bisection needs: squared off-diagonal, the pivot guard, the Gershgorin
/// bracket of the spectrum (widened so the counts at its ends are 0 and n) and the stopping
/// width, a few ulps of ‖T‖ (never below the guard). As in LAPACK dstebz.
struct BisectionSetup {
  double pivmin = 0, lo = 0, hi = 0, tolerance = 0;
};

BisectionSetup SetUp(const double* d, const double* e, int64_t n, double* e2) {
  BisectionSetup s;
  double e2_max = 0;
  for (int64_t i = 0; i + 1 < n; ++i) {
    e2[i] = e[i] * e[i];
    e2_max = std::max(e2_max, e2[i]);
  }
  s.pivmin = std::numeric_limits<double>::min() * std::max(1.0, e2_max);
  double lo = d[0], hi = d[0];
  for (int64_t i = 0; i < n; ++i) {
    const double radius = (i > 0 ? std::abs(e[i - 1]) : 0.0) + (i + 1 < n ? std::abs(e[i]) : 0.0);
    lo = std::min(lo, d[i] - radius);
    hi = std::max(hi, d[i] + radius);
  }
  const double norm = std::max(std::abs(lo), std::abs(hi));
  const double slack = 2 * kEpsilon * norm + 2 * s.pivmin;
  s.lo = lo - slack;
  s.hi = hi + slack;
  s.tolerance = 4 * kEpsilon * norm + 4 * s.pivmin;
  return s;
}

/// Sturm count of one chain: negative pivots of T − xI (the guard replaces |q| < pivmin by
/// −pivmin, LAPACK dlaebz).
int64_t SturmCount(const double* d, const double* e2, int64_t n, double pivmin, double x) {
  int64_t negative = 0;
  double q = d[0] - x;
  for (int64_t i = 0;; ++i) {
    if (std::abs(q) < pivmin) q = -pivmin;
    negative += q < 0 ? 1 : 0;
    if (i + 1 == n) break;
    q = d[i + 1] - x - e2[i] / q;
  }
  return negative;
}

constexpr int kVectors = 4;  // 16 chains per bisection block (the count below is unrolled for 4)
constexpr size_t kBlock = kVectors * kLanes;
// Newton points a chain may take in all; after that it only bisects (with the bound on bisection
// steps, a bound on the number of counts of any chain).
constexpr int64_t kMaxNewtonPoints = 16;
// Counts per block before the unfinished chains are regrouped (TridiagonalEigenvaluesByRank).
constexpr int kRoundIterations = 16;

/// The state of 16 bisection chains, one per lane: the bracket (lo, hi] of λ_target with the
/// Sturm counts at its ends, the Newton point for the next count, how far a converged Newton
/// step reaches past λ, and how many Newton points the chain has taken.
struct ChainBlock {
  V4 lo[kVectors], hi[kVectors], next[kVectors], reach[kVectors];
  V4 pivmin[kVectors], tolerance[kVectors];
  M4 target[kVectors], count_lo[kVectors], count_hi[kVectors], newton_points[kVectors];
};

/// Up to `iterations` Sturm counts of each of the 16 chains of `c` (fewer if all finish), on the
/// tridiagonals d and e2, interleaved [vector][i] (n each). Chains stop independently once
/// narrower than their tolerance. At n = 48 one count of 16 chains takes about as long as one of
/// 8 scalar chains did, because the divisions are issued four to an instruction.
///
/// Any point inside (lo, hi) is a valid place for the next count: the count tells on which side
/// λ_target lies, so the bracket shrinks whatever the point, and the result is the midpoint of a
/// final interval no wider than plain bisection's. The pass over the pivots q_i of T − xI = LDLᵀ
/// also gives S = Σ q_i'/q_i = (d/dx) ln|det(T − xI)| (q_0' = −1, q_{i+1}' = −1 + e_i² q_i'/q_i²;
/// one reciprocal per pivot serves the count's division too), hence the Newton point x − m/S
/// with m = count_hi − count_lo, the eigenvalues in the bracket (for a cluster such as the n − 1
/// equal eigenvalues of a complete graph's Laplacian, the step to its centre). It is taken when
/// it lies inside the bracket, the bracket is wider than 32 tolerances and the chain has taken
/// fewer than kMaxNewtonPoints; otherwise the midpoint. Newton approaches λ from one side,
/// leaving the far end of the bracket where it was, so a step shorter than half the tolerance is
/// replaced by a point `reach` beyond x (0.9 tolerance, ×4 each time: near λ the counts are only
/// as exact as the rounding, so the first may land on the same side); once its count lands past
/// λ the bracket is narrow and a few bisections end the chain.
__attribute__((target_clones("avx2", "default"))) void BisectBlock(const V4* d, const V4* e2,
                                                                   int64_t n, ChainBlock& c,
                                                                   int iterations) {
  const V4 zero = {};
  for (int iteration = 0; iteration < iterations; ++iteration) {
    M4 active[kVectors];
    M4 any = {};
    V4 x[kVectors];
    for (int b = 0; b < kVectors; ++b) {
      const V4 width = c.hi[b] - c.lo[b];
      active[b] = width > c.tolerance[b];
      any |= active[b];
      const M4 newton = (c.next[b] > c.lo[b]) & (c.next[b] < c.hi[b]) &
                        (c.newton_points[b] < kMaxNewtonPoints) & (width > 32 * c.tolerance[b]);
      c.newton_points[b] -= newton & active[b];  // a true lane is −1
      x[b] = newton ? c.next[b] : 0.5 * (c.lo[b] + c.hi[b]);
    }
    if (!AnyLane(any)) break;
    // Unrolled by hand: with arrays indexed by b, GCC kept q in memory and the store-to-load
    // forwarding sat in the recurrence (320 requests at n = 48: 743 → 407 µs).
    V4 q0 = d[0] - x[0], q1 = d[n] - x[1], q2 = d[2 * n] - x[2], q3 = d[3 * n] - x[3];
    V4 p0 = zero - 1.0, p1 = p0, p2 = p0, p3 = p0;  // q_i'
    V4 s0 = zero, s1 = zero, s2 = zero, s3 = zero;  // Σ q_i'/q_i
    M4 c0 = {}, c1 = {}, c2 = {}, c3 = {};
    const V4 g0 = c.pivmin[0], g1 = c.pivmin[1], g2 = c.pivmin[2], g3 = c.pivmin[3];
    const V4 x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
    for (int64_t i = 0;; ++i) {
      q0 = ((q0 < g0) & (q0 > -g0)) ? -g0 : q0;
      q1 = ((q1 < g1) & (q1 > -g1)) ? -g1 : q1;
      q2 = ((q2 < g2) & (q2 > -g2)) ? -g2 : q2;
      q3 = ((q3 < g3) & (q3 > -g3)) ? -g3 : q3;
      c0 -= q0 < zero;  // a true lane is −1
      c1 -= q1 < zero;
      c2 -= q2 < zero;
      c3 -= q3 < zero;
      const V4 r0 = 1.0 / q0, r1 = 1.0 / q1, r2 = 1.0 / q2, r3 = 1.0 / q3;
      const V4 u0 = p0 * r0, u1 = p1 * r1, u2 = p2 * r2, u3 = p3 * r3;
      s0 += u0;
      s1 += u1;
      s2 += u2;
      s3 += u3;
      if (i + 1 == n) break;
      const V4 t0 = e2[i] * r0, t1 = e2[n + i] * r1, t2 = e2[2 * n + i] * r2,
               t3 = e2[3 * n + i] * r3;
      q0 = d[i + 1] - x0 - t0;
      q1 = d[n + i + 1] - x1 - t1;
      q2 = d[2 * n + i + 1] - x2 - t2;
      q3 = d[3 * n + i + 1] - x3 - t3;
      p0 = t0 * u0 - 1.0;
      p1 = t1 * u1 - 1.0;
      p2 = t2 * u2 - 1.0;
      p3 = t3 * u3 - 1.0;
    }
    const M4 counts[kVectors] = {c0, c1, c2, c3};
    const V4 sums[kVectors] = {s0, s1, s2, s3};
    for (int b = 0; b < kVectors; ++b) {
      // At least `target` eigenvalues below x: λ_target < x.
      const M4 below = counts[b] >= c.target[b];
      const M4 up = active[b] & below, down = active[b] & ~below;
      c.hi[b] = up ? x[b] : c.hi[b];
      c.lo[b] = down ? x[b] : c.lo[b];
      c.count_hi[b] = up ? counts[b] : c.count_hi[b];
      c.count_lo[b] = down ? counts[b] : c.count_lo[b];
      // m/S with m the eigenvalues in the bracket: ±∞ or NaN when S is 0 or not finite (never
      // inside the bracket).
      const V4 step = __builtin_convertvector(c.count_hi[b] - c.count_lo[b], V4) / sums[b];
      const M4 converged = (step < 0.5 * c.tolerance[b]) & (step > -0.5 * c.tolerance[b]);
      const V4 past = step > zero ? c.reach[b] : -c.reach[b];
      c.next[b] = x[b] - (converged ? past : step);
      c.reach[b] = (converged & active[b]) ? 4.0 * c.reach[b] : c.reach[b];
    }
  }
}

/// Root-free QL (Pal–Walker–Kahan) on d[0..n) and the squared off-diagonal e2[0..n−1): each
/// sweep chases the bulge of one implicit QL step with Wilkinson's shift from the top of the
/// unreduced block [l, m] upward from m, in terms of c², s² and γ (Parlett §8.15), so that only
/// the shift needs a square root. A block splits where e_i² ≤ ε²(|d_i| + |d_{i+1}|)².
///
/// A state machine advanced one rotation per Step(), so that the QL iterations of several
/// matrices run interleaved: one rotation is a chain of two dependent divisions, and a single
/// matrix left the divider idle most of the time (48×48, tridiagonalization included: 55 µs per
/// matrix alone, 32 µs four at a time; eight at a time gained 1 µs more).
class RootFreeQl {
 public:
  RootFreeQl(double* d, double* e2, int64_t n) : d_(d), e2_(e2), n_(n) {}

  /// One rotation, or the search for the next unreduced block and its shift. False once every
  /// eigenvalue has converged (d holds them, unsorted) or after 30·n sweeps (failed()).
  bool Step() {
    if (in_sweep_) {
      Rotate();
      return true;
    }
    while (l_ < n_) {
      m_ = l_;
      for (; m_ + 1 < n_; ++m_) {
        const double scale = std::abs(d_[m_]) + std::abs(d_[m_ + 1]);
        if (e2_[m_] <= kEps2 * scale * scale || e2_[m_] <= kTiny) {
          e2_[m_] = 0;
          break;
        }
      }
      if (m_ != l_) break;
      ++l_;
    }
    if (l_ >= n_) return false;
    if (++sweeps_ > 30 * n_) {
      failed_ = true;
      return false;
    }
    const double root = std::sqrt(e2_[l_]);
    const double g = (d_[l_ + 1] - d_[l_]) / (2 * root);
    shift_ = d_[l_] - root / (g + std::copysign(std::hypot(g, 1.0), g));
    c_ = 1;
    s_ = 0;
    gamma_ = d_[m_] - shift_;
    p_ = gamma_ * gamma_;
    i_ = m_ - 1;
    in_sweep_ = true;
    return true;
  }

  bool failed() const { return failed_; }

 private:
  static constexpr double kEps2 = kEpsilon * kEpsilon;
  static constexpr double kTiny = std::numeric_limits<double>::min();

  void Rotate() {
    const int64_t i = i_;
    const double bb = e2_[i];
    const double r = p_ + bb;
    if (i != m_ - 1) e2_[i + 1] = s_ * r;
    const double old_c = c_;
    c_ = p_ / r;
    s_ = bb / r;
    const double old_gamma = gamma_;
    const double alpha = d_[i];
    gamma_ = c_ * (alpha - shift_) - s_ * old_gamma;
    d_[i + 1] = old_gamma + (alpha - gamma_);
    p_ = c_ != 0 ? gamma_ * gamma_ / c_ : old_c * bb;
    if (i == l_) {
      e2_[l_] = s_ * p_;
      d_[l_] = shift_ + gamma_;
      in_sweep_ = false;
    } else {
      --i_;
    }
  }

  double* d_;
  double* e2_;
  int64_t n_;
  int64_t l_ = 0, m_ = 0, i_ = 0, sweeps_ = 0;
  bool in_sweep_ = false, failed_ = false;
  double shift_ = 0, c_ = 1, s_ = 0, gamma_ = 0, p_ = 0;
};

/// Every eigenvalue of the given tridiagonals (d[t], e[t] of n values each; d is replaced by
/// the ascending spectrum, e overwritten), their QL iterations interleaved.
void InterleavedTridiagonalEigenvalues(std::span<double* const> d, std::span<double* const> e,
                                       int64_t n);

}  // namespace

void TridiagonalizeSymmetric(std::span<const double> matrices, int64_t n,
                             std::span<double> diagonal, std::span<double> off_diagonal) {
  if (n <= 0) return;
  const auto nn = static_cast<size_t>(n * n);
  const size_t k = matrices.size() / nn;
  assert(diagonal.size() >= k * static_cast<size_t>(n));
  assert(off_diagonal.size() >= k * static_cast<size_t>(n));
  std::vector<Pack> a(nn), scratch(4 * static_cast<size_t>(n)), d(static_cast<size_t>(n)),
      e(d.size());
  V4* av = &a[0].v;
  const std::vector<double> zeros(k % kLanes == 0 ? 0 : nn, 0.0);  // the missing lanes' matrix
  for (size_t first = 0; first < k; first += kLanes) {
    // Interleave the lower triangles, column-major (the Householder updates walk columns).
    // Missing lanes of the last group are zero matrices (τ = 0 throughout). Rows of the four
    // sources are read together, so each destination vector is written whole.
    const double* src[kLanes];
    for (int l = 0; l < kLanes; ++l) {
      const size_t m = first + static_cast<size_t>(l);
      src[l] = m < k ? matrices.data() + m * nn : zeros.data();
    }
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t c = 0; c <= r; ++c) {
        V4& x = av[c * n + r];
        for (int l = 0; l < kLanes; ++l) x[l] = src[l][r * n + c];
      }
    }
    TridiagonalizeFour(av, &scratch[0].v, &d[0].v, &e[0].v, n);
    simd4::ScatterLanes(d.data(), e.data(), first, k, n, diagonal, off_diagonal);
  }
}

int64_t CountTridiagonalEigenvaluesBelow(const double* d, const double* e, int64_t n, double x) {
  if (n <= 0) return 0;
  std::vector<double> e2(static_cast<size_t>(n));
  const BisectionSetup s = SetUp(d, e, n, e2.data());
  return SturmCount(d, e2.data(), n, s.pivmin, x);
}

void TridiagonalEigenvaluesByRank(std::span<const double> diagonal,
                                  std::span<const double> off_diagonal, int64_t n,
                                  std::span<const RankedEigenvalue> requests,
                                  std::span<double> out) {
  if (n <= 0 || requests.empty()) return;
  const auto un = static_cast<size_t>(n);
  const size_t k = diagonal.size() / un;
  // Per tridiagonal: e², guard, bracket (only for the matrices requested).
  std::vector<double> e2(k * un, 0.0);
  std::vector<BisectionSetup> setup(k);
  std::vector<bool> ready(k, false);
  for (const RankedEigenvalue& r : requests) {
    const auto m = static_cast<size_t>(r.matrix);
    assert(m < k && r.rank >= 1 && r.rank <= n);
    if (ready[m]) continue;
    setup[m] = SetUp(diagonal.data() + m * un, off_diagonal.data() + m * un, n, e2.data() + m * un);
    ready[m] = true;
  }
  // Every chain's state between rounds. A round runs each block of 16 unfinished chains for
  // kRoundIterations counts; the chains still unfinished are regrouped for the next round, so
  // that a block's time follows its chains' needs instead of the slowest of 16 fixed ones (a
  // cluster bisected to the end next to 15 Newton chains done in a third of the counts).
  struct Chain {
    double lo, hi, next, reach;
    int64_t count_lo, count_hi, newton_points;
  };
  std::vector<Chain> chains(requests.size());
  std::vector<size_t> pending(requests.size());
  for (size_t r = 0; r < requests.size(); ++r) {
    const BisectionSetup& s = setup[static_cast<size_t>(requests[r].matrix)];
    chains[r] = {s.lo, s.hi, std::numeric_limits<double>::quiet_NaN(), 0.9 * s.tolerance, 0, n, 0};
    pending[r] = r;
  }
  std::vector<Pack> d(kVectors * un), e2i(kVectors * un);
  std::vector<size_t> unfinished;
  // Each round takes kRoundIterations counts of every pending chain; a chain needs at most
  // kMaxNewtonPoints + ~64 bisections (the bracket halves down to its ~ulp-wide tolerance).
  for (int round = 0; !pending.empty(); ++round) {
    const bool last_round = round * kRoundIterations >= 512;  // a guard, never reached
    unfinished.clear();
    for (size_t begin = 0; begin < pending.size(); begin += kBlock) {
      ChainBlock c;
      size_t index[kBlock];
      for (size_t j = 0; j < kBlock; ++j) {
        // The last block is padded with its first chain (computed, not written back).
        index[j] = pending[begin + j < pending.size() ? begin + j : begin];
        const RankedEigenvalue& r = requests[index[j]];
        const Chain& ch = chains[index[j]];
        const auto m = static_cast<size_t>(r.matrix);
        const size_t b = j / kLanes;
        const int l = static_cast<int>(j % kLanes);
        for (size_t i = 0; i < un; ++i) {
          d[b * un + i].v[l] = diagonal[m * un + i];
          e2i[b * un + i].v[l] = e2[m * un + i];
        }
        c.pivmin[b][l] = setup[m].pivmin;
        c.tolerance[b][l] = setup[m].tolerance;
        c.target[b][l] = r.rank;
        c.lo[b][l] = ch.lo;
        c.hi[b][l] = ch.hi;
        c.next[b][l] = ch.next;
        c.reach[b][l] = ch.reach;
        c.count_lo[b][l] = ch.count_lo;
        c.count_hi[b][l] = ch.count_hi;
        c.newton_points[b][l] = ch.newton_points;
      }
      BisectBlock(&d[0].v, &e2i[0].v, n, c, kRoundIterations);
      for (size_t j = 0; j < kBlock && begin + j < pending.size(); ++j) {
        const size_t b = j / kLanes;
        const int l = static_cast<int>(j % kLanes);
        Chain& ch = chains[index[j]];
        ch = {c.lo[b][l],       c.hi[b][l],       c.next[b][l],         c.reach[b][l],
              c.count_lo[b][l], c.count_hi[b][l], c.newton_points[b][l]};
        if (!(ch.hi - ch.lo > c.tolerance[b][l]) || last_round) {
          out[index[j]] = 0.5 * (ch.lo + ch.hi);
        } else {
          unfinished.push_back(index[j]);
        }
      }
    }
    pending.swap(unfinished);
  }
}

namespace {

void InterleavedTridiagonalEigenvalues(std::span<double* const> d, std::span<double* const> e,
                                       int64_t n) {
  if (n <= 1) return;
  const size_t count = d.size();
  const auto un = static_cast<size_t>(n);
  std::vector<double> e2(count * un, 0.0), original(count * un);
  std::vector<RootFreeQl> ql;
  for (size_t t = 0; t < count; ++t) {
    for (size_t i = 0; i + 1 < un; ++i) e2[t * un + i] = e[t][i] * e[t][i];
    std::copy(d[t], d[t] + n, original.begin() + static_cast<std::ptrdiff_t>(t * un));
    ql.emplace_back(d[t], e2.data() + t * un, n);
  }
  for (bool any = true; any;) {
    any = false;
    for (RootFreeQl& q : ql) any = q.Step() || any;
  }
  for (size_t t = 0; t < count; ++t) {
    if (!ql[t].failed()) {
      std::sort(d[t], d[t] + n);
      continue;
    }
    // Not converged (never seen; kept so that the function always returns a spectrum): every
    // eigenvalue by bisection on the original tridiagonal.
    std::vector<RankedEigenvalue> all(un);
    for (int64_t i = 0; i < n; ++i) all[static_cast<size_t>(i)] = {0, i + 1};
    std::vector<double> off(un, 0.0);
    std::copy(e[t], e[t] + (n - 1), off.begin());
    TridiagonalEigenvaluesByRank(std::span<const double>(original).subspan(t * un, un), off, n, all,
                                 std::span<double>(d[t], un));
  }
}

}  // namespace

void TridiagonalEigenvalues(std::span<double> d, std::span<double> e) {
  double* dp = d.data();
  double* ep = e.data();
  InterleavedTridiagonalEigenvalues(std::span<double* const>(&dp, 1),
                                    std::span<double* const>(&ep, 1),
                                    static_cast<int64_t>(d.size()));
}

void SymmetricEigenvalues(std::span<const double> matrices, int64_t n,
                          std::span<double> eigenvalues) {
  if (n <= 0) return;
  const auto nn = static_cast<size_t>(n * n);
  const size_t k = matrices.size() / nn;
  std::vector<double> off(k * static_cast<size_t>(n));
  TridiagonalizeSymmetric(matrices, n, eigenvalues, off);
  // QL four matrices at a time, interleaved.
  for (size_t first = 0; first < k; first += kLanes) {
    std::vector<double*> d, e;
    for (size_t m = first; m < std::min(k, first + kLanes); ++m) {
      d.push_back(eigenvalues.data() + m * static_cast<size_t>(n));
      e.push_back(off.data() + m * static_cast<size_t>(n));
    }
    InterleavedTridiagonalEigenvalues(d, e, n);
  }
}

}  // namespace sinkscope::analyzers
