#include "analyzers/common/small_symmetric_eigen.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <vector>

namespace sinkscope::analyzers {
namespace {

constexpr double kEpsilon = std::numeric_limits<double>::epsilon();
constexpr int kLanes = 4;

// Four doubles, one per matrix (or bisection chain), and the lane masks of their comparisons
// (−1 where true, 0 where false). GCC lowers them to one AVX2 or two SSE2 registers.
using V4 = double __attribute__((vector_size(32)));
using M4 = int64_t __attribute__((vector_size(32)));

// A V4 as a struct, so that std::vector allocates it 32-byte aligned without the attribute being
// dropped from the template argument (-Wignored-attributes). The alignas matters: without -mavx
// GCC gives the vector type itself 16-byte alignment, while the AVX2 clones load it with aligned
// 32-byte moves.
struct alignas(32) Pack {
  V4 v;
};

bool AnyLane(const M4& m) {
  return (m[0] | m[1] | m[2] | m[3]) != 0;
}

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
    V4 norm;
    for (int l = 0; l < kLanes; ++l) norm[l] = std::sqrt(alpha[l] * alpha[l] + sigma[l]);
    const M4 trivial = sigma == zero;
    const V4 beta = trivial ? alpha : (alpha >= zero ? -norm : norm);
    // Lanes with τ = 0 compute 0/0 or x/0 here; the selects drop those values.
    tau = trivial ? zero : (beta - alpha) / beta;
    const V4 scale = trivial ? zero : 1.0 / (alpha - beta);
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

/// Bisection of kVectors·4 chains. d and e2 are interleaved [vector][i] (n each); lo/hi are
/// updated in place until every chain is narrower than its tolerance (chains stop
/// independently). At n = 48 one count of 16 chains takes about as long as one of 8 scalar
/// chains did, because the divisions are issued four to an instruction.
__attribute__((target_clones("avx2", "default"))) void BisectBlock(const V4* d, const V4* e2,
                                                                   int64_t n, const V4* pivmin,
                                                                   const V4* tolerance,
                                                                   const M4* target, V4* lo,
                                                                   V4* hi) {
  for (int iteration = 0; iteration < 128; ++iteration) {
    M4 active[kVectors];
    M4 any = {};
    V4 mid[kVectors], q[kVectors];
    M4 negative[kVectors];
    for (int b = 0; b < kVectors; ++b) {
      active[b] = (hi[b] - lo[b]) > tolerance[b];
      any |= active[b];
      mid[b] = 0.5 * (lo[b] + hi[b]);
      q[b] = d[b * n] - mid[b];
      negative[b] = M4{};
    }
    if (!AnyLane(any)) break;
    // Unrolled by hand: with arrays indexed by b, GCC kept q in memory and the store-to-load
    // forwarding sat in the recurrence (320 requests at n = 48: 743 → 407 µs).
    V4 q0 = q[0], q1 = q[1], q2 = q[2], q3 = q[3];
    M4 c0 = {}, c1 = {}, c2 = {}, c3 = {};
    const V4 g0 = pivmin[0], g1 = pivmin[1], g2 = pivmin[2], g3 = pivmin[3];
    const V4 x0 = mid[0], x1 = mid[1], x2 = mid[2], x3 = mid[3];
    const V4 zero = {};
    for (int64_t i = 0;; ++i) {
      q0 = ((q0 < g0) & (q0 > -g0)) ? -g0 : q0;
      q1 = ((q1 < g1) & (q1 > -g1)) ? -g1 : q1;
      q2 = ((q2 < g2) & (q2 > -g2)) ? -g2 : q2;
      q3 = ((q3 < g3) & (q3 > -g3)) ? -g3 : q3;
      c0 -= q0 < zero;  // a true lane is −1
      c1 -= q1 < zero;
      c2 -= q2 < zero;
      c3 -= q3 < zero;
      if (i + 1 == n) break;
      q0 = d[i + 1] - x0 - e2[i] / q0;
      q1 = d[n + i + 1] - x1 - e2[n + i] / q1;
      q2 = d[2 * n + i + 1] - x2 - e2[2 * n + i] / q2;
      q3 = d[3 * n + i + 1] - x3 - e2[3 * n + i] / q3;
    }
    negative[0] = c0;
    negative[1] = c1;
    negative[2] = c2;
    negative[3] = c3;
    for (int b = 0; b < kVectors; ++b) {
      // At least `target` eigenvalues below mid: λ_target < mid.
      const M4 below = negative[b] >= target[b];
      hi[b] = (active[b] & below) ? mid[b] : hi[b];
      lo[b] = (active[b] & ~below) ? mid[b] : lo[b];
    }
  }
}

/// Root-free QL (Pal–Walker–Kahan) on d[0..n) and the squared off-diagonal e2[0..n−1): each
/// sweep chases the bulge of one implicit QL step with Wilkinson's shift from the top of the
/// unreduced block [l, m] upward from m, in terms of c², s² and γ (Parlett §8.15), so that only
/// the shift needs a square root. A block splits where e_i² ≤ ε²(|d_i| + |d_{i+1}|)². Returns
/// false if 30·n sweeps did not converge (d and e2 are then meaningless).
bool RootFreeQl(double* d, double* e2, int64_t n) {
  const double eps2 = kEpsilon * kEpsilon;
  const double tiny = std::numeric_limits<double>::min();
  int64_t sweeps = 0;
  for (int64_t l = 0; l < n;) {
    int64_t m = l;
    for (; m + 1 < n; ++m) {
      const double scale = std::abs(d[m]) + std::abs(d[m + 1]);
      if (e2[m] <= eps2 * scale * scale || e2[m] <= tiny) {
        e2[m] = 0;
        break;
      }
    }
    if (m == l) {
      ++l;
      continue;
    }
    if (++sweeps > 30 * n) return false;
    const double root = std::sqrt(e2[l]);
    double g = (d[l + 1] - d[l]) / (2 * root);
    const double r0 = std::hypot(g, 1.0);
    const double shift = d[l] - root / (g + std::copysign(r0, g));
    double c = 1, s = 0, gamma = d[m] - shift, p = gamma * gamma;
    for (int64_t i = m - 1; i >= l; --i) {
      const double bb = e2[i];
      const double r = p + bb;
      if (i != m - 1) e2[i + 1] = s * r;
      const double old_c = c;
      c = p / r;
      s = bb / r;
      const double old_gamma = gamma;
      const double alpha = d[i];
      gamma = c * (alpha - shift) - s * old_gamma;
      d[i + 1] = old_gamma + (alpha - gamma);
      p = c != 0 ? gamma * gamma / c : old_c * bb;
    }
    e2[l] = s * p;
    d[l] = shift + gamma;
  }
  return true;
}

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
    for (int l = 0; l < kLanes && first + static_cast<size_t>(l) < k; ++l) {
      const size_t out = (first + static_cast<size_t>(l)) * static_cast<size_t>(n);
      for (int64_t i = 0; i < n; ++i) {
        diagonal[out + static_cast<size_t>(i)] = d[static_cast<size_t>(i)].v[l];
        off_diagonal[out + static_cast<size_t>(i)] = e[static_cast<size_t>(i)].v[l];
      }
    }
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
  constexpr size_t kBlock = kVectors * kLanes;
  std::vector<Pack> d(kVectors * un), e2i(kVectors * un);
  for (size_t begin = 0; begin < requests.size(); begin += kBlock) {
    Pack pivmin[kVectors], tolerance[kVectors], lo[kVectors], hi[kVectors];
    M4 target[kVectors];
    for (size_t c = 0; c < kBlock; ++c) {
      // The last block is padded with its first request (computed, not written).
      const RankedEigenvalue& r = requests[begin + c < requests.size() ? begin + c : begin];
      const auto m = static_cast<size_t>(r.matrix);
      const size_t b = c / kLanes;
      const int l = static_cast<int>(c % kLanes);
      for (size_t i = 0; i < un; ++i) {
        d[b * un + i].v[l] = diagonal[m * un + i];
        e2i[b * un + i].v[l] = e2[m * un + i];
      }
      pivmin[b].v[l] = setup[m].pivmin;
      tolerance[b].v[l] = setup[m].tolerance;
      lo[b].v[l] = setup[m].lo;
      hi[b].v[l] = setup[m].hi;
      target[b][l] = r.rank;
    }
    BisectBlock(&d[0].v, &e2i[0].v, n, &pivmin[0].v, &tolerance[0].v, target, &lo[0].v, &hi[0].v);
    for (size_t c = 0; c < kBlock && begin + c < requests.size(); ++c) {
      const size_t b = c / kLanes;
      const int l = static_cast<int>(c % kLanes);
      out[begin + c] = 0.5 * (lo[b].v[l] + hi[b].v[l]);
    }
  }
}

void TridiagonalEigenvalues(std::span<double> d, std::span<double> e) {
  const auto n = static_cast<int64_t>(d.size());
  if (n <= 1) return;
  std::vector<double> e2(static_cast<size_t>(n), 0.0);
  for (int64_t i = 0; i + 1 < n; ++i) e2[static_cast<size_t>(i)] = e[i] * e[i];
  std::vector<double> original(d.begin(), d.end());
  if (RootFreeQl(d.data(), e2.data(), n)) {
    std::sort(d.begin(), d.end());
    return;
  }
  // Not converged (never seen; kept so that the function always returns a spectrum): every
  // eigenvalue by bisection on the original tridiagonal.
  std::vector<RankedEigenvalue> all(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) all[static_cast<size_t>(i)] = {0, i + 1};
  std::vector<double> off(static_cast<size_t>(n), 0.0);
  std::copy(e.begin(), e.begin() + (n - 1), off.begin());
  TridiagonalEigenvaluesByRank(original, off, n, all, d);
}

void SymmetricEigenvalues(std::span<const double> matrices, int64_t n,
                          std::span<double> eigenvalues) {
  if (n <= 0) return;
  const auto nn = static_cast<size_t>(n * n);
  const size_t k = matrices.size() / nn;
  std::vector<double> off(k * static_cast<size_t>(n));
  TridiagonalizeSymmetric(matrices, n, eigenvalues, off);
  for (size_t m = 0; m < k; ++m) {
    const size_t at = m * static_cast<size_t>(n);
    TridiagonalEigenvalues(eigenvalues.subspan(at, static_cast<size_t>(n)),
                           std::span<double>(off).subspan(at, static_cast<size_t>(n)));
  }
}

}  // namespace sinkscope::analyzers
