#include "analyzers/common/small_singular_values.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include <Eigen/SVD>

#include "analyzers/common/simd4.h"

namespace sinkscope::analyzers {
namespace {

using simd4::kLanes;
using simd4::M4;
using simd4::Pack;
using simd4::V4;

/// Bidiagonalization of the four matrices interleaved in a (n×n, column-major: a[c·n + r], lane
/// l = matrix l) to upper bidiagonal form, d (n) and e (n − 1; e[n−1] = 0); scratch holds 4n
/// vectors. Per column j: the left reflector H_j = I − τ v vᵀ of A(j:, j) gives d_j, with
/// w = τ vᵀA(j:, j+1:); row j of H_j A is A(j, j+1:) − w (v₀ = 1), whose right reflector
/// G_j = I − τ' u uᵀ gives e_j. Pass 1 updates A(j+1:, j+1:) −= v wᵀ and accumulates y = A u;
/// pass 2 updates A −= (τ' y) uᵀ column by column, the first updated column giving the next left
/// reflector, so that the rest of pass 2 also accumulates the next w. Rows j and column j are
/// never written back: they are consumed as they are produced.
__attribute__((target_clones("avx2", "default"))) void BidiagonalizeFour(V4* a, V4* scratch, V4* d,
                                                                         V4* e, int64_t n) {
  const V4 zero = {};
  V4* v = scratch;          // left reflector, rows j..n−1 (v[j] = 1)
  V4* w = scratch + n;      // τ vᵀA, columns j+1..n−1
  V4* u = scratch + 2 * n;  // right reflector, columns j+1..n−1 (u[j+1] = 1)
  V4* y = scratch + 3 * n;  // τ' A u, rows j+1..n−1
  // Left reflector of column c (rows c..n−1, already fully updated) into v; d[c].
  auto left = [&](int64_t c, V4& tau) {
    const V4* col = a + c * n;
    V4 sigma = zero;
    for (int64_t r = c + 1; r < n; ++r) sigma += col[r] * col[r];
    V4 beta, scale;
    simd4::Householder(col[c], sigma, tau, beta, scale);
    d[c] = beta;
    v[c] = zero + 1.0;
    for (int64_t r = c + 1; r < n; ++r) v[r] = col[r] * scale;
  };
  V4 tau_left;
  left(0, tau_left);
  for (int64_t c = 1; c < n; ++c) {
    const V4* ac = a + c * n;
    V4 s0 = zero, s1 = zero;
    int64_t r = 0;
    for (; r + 1 < n; r += 2) {
      s0 += v[r] * ac[r];
      s1 += v[r + 1] * ac[r + 1];
    }
    if (r < n) s0 += v[r] * ac[r];
    w[c] = tau_left * (s0 + s1);
  }
  for (int64_t j = 0; j + 1 < n; ++j) {
    const int64_t f = j + 1;
    // Right reflector of row j of H_j A, columns f..n−1.
    V4 sigma = zero;
    for (int64_t c = f + 1; c < n; ++c) {
      const V4 x = a[c * n + j] - w[c];
      sigma += x * x;
    }
    V4 tau_right, beta, scale;
    simd4::Householder(a[f * n + j] - w[f], sigma, tau_right, beta, scale);
    e[j] = beta;
    u[f] = zero + 1.0;
    for (int64_t c = f + 1; c < n; ++c) u[c] = (a[c * n + j] - w[c]) * scale;
    // Pass 1: A(f:, f:) −= v wᵀ, y = A(f:, f:) u.
    for (int64_t r = f; r < n; ++r) y[r] = zero;
    for (int64_t c = f; c < n; ++c) {
      V4* ac = a + c * n;
      const V4 wc = w[c], uc = u[c];
      for (int64_t r = f; r < n; ++r) {
        const V4 x = ac[r] - v[r] * wc;
        ac[r] = x;
        y[r] += x * uc;
      }
    }
    for (int64_t r = f; r < n; ++r) y[r] *= tau_right;
    // Pass 2: A(f:, f:) −= y uᵀ; column f first, whose rows f.. give the next left reflector,
    // then the other columns together with the next w = τ vᵀA.
    {
      V4* af = a + f * n;
      const V4 uf = u[f];
      for (int64_t r = f; r < n; ++r) af[r] -= y[r] * uf;
    }
    left(f, tau_left);
    for (int64_t c = f + 1; c < n; ++c) {
      V4* ac = a + c * n;
      const V4 uc = u[c];
      V4 s0 = zero, s1 = zero;
      int64_t r = f;
      for (; r + 1 < n; r += 2) {
        const V4 x0 = ac[r] - y[r] * uc;
        const V4 x1 = ac[r + 1] - y[r + 1] * uc;
        ac[r] = x0;
        ac[r + 1] = x1;
        s0 += v[r] * x0;
        s1 += v[r + 1] * x1;
      }
      if (r < n) {
        const V4 x0 = ac[r] - y[r] * uc;
        ac[r] = x0;
        s0 += v[r] * x0;
      }
      w[c] = tau_left * (s0 + s1);
    }
  }
  e[n - 1] = zero;
}

/// A power-of-two exponent s such that the matrix times 2^s has its largest magnitude in
/// [0.5, 1), or 0 when it already lies in [2⁻²⁵⁶, 2²⁵⁶] (or is 0): squares and sums of squares of
/// n ≪ 2⁵⁰⁰ such entries neither overflow nor underflow to the detriment of ε·σ₁.
int ScaleExponent(const double* m, size_t count) {
  double largest = 0;
  for (size_t x = 0; x < count; ++x) largest = std::max(largest, std::abs(m[x]));
  if (largest == 0 || (largest >= 0x1p-256 && largest <= 0x1p256)) return 0;
  int exponent = 0;
  std::frexp(largest, &exponent);
  return -exponent;
}

constexpr double kEpsilon = std::numeric_limits<double>::epsilon();
// Deflation and splitting tolerance on the squared off-diagonal, as LAPACK dlasq2 (100ε).
constexpr double kTolerance2 = (100 * kEpsilon) * (100 * kEpsilon);

/// The dqds iteration (differential quotient-difference with shifts; Fernando & Parlett 1994,
/// Parlett & Marques 2000) of one bidiagonal, as a state machine so that the passes of four of
/// them run interleaved (RunPasses): a pass is one chain of dependent divisions, and one matrix
/// alone leaves the divider idle most of the time.
///
/// It works on the squares q_k = d_k², e_k = e_k² (the qd array of BᵀB). A pass with shift τ,
///   d = q_lo − τ;  for k: q̂_k = d + e_k, t = q_{k+1}/q̂_k, ê_k = e_k·t, d = d·t − τ;  q̂_hi = d,
/// gives the qd array of a matrix with eigenvalues λ − τ; it succeeds (every d ≥ 0) exactly when
/// τ ≤ λ_min, so a failed pass only costs time: the next shift candidate is tried, the last
/// being 0, which always succeeds on a positive array. Each step has relative accuracy, so the
/// σ keep it on the bidiagonal. The bottom e converges to 0; λ = q_hi + Σ τ is deflated when
/// e_{hi−1} is negligible (1×1) or e_{hi−2} is (2×2, closed form). Shifts, after a successful
/// pass with d values d_lo..d_hi: if the smallest is d_hi, the bottom is converging and
/// γ(1 − √a)/(1 + a) with γ = d_hi and a = 1.05·Σ_j Π_{i≥j} e_i/q_i (the coupling of the last
/// row, summed while the terms matter) is a lower bound of λ_min (LAPACK dlasq4's Rayleigh
/// quotient residual bound); otherwise d_min/4. The first candidate goes 99 % of the way from
/// that bound towards the smallest eigenvalue of the trailing 2×2 of BBᵀ (an upper bound), which
/// fails about once per 20 values and saves a pass about every third value (a Python model of
/// this iteration on 40 attention and Gaussian 48×48 matrices: 3734 pass steps per matrix
/// against 4115 with the bound alone; docs/rmt.md).
struct Dqds {
  double* q[2];  // the qd array and the buffer the next pass writes (ping-pong)
  double* e[2];
  double* d[2];  // the d values of the last successful pass, and of the current one
  double* out;   // emitted eigenvalues of BᵀB, n of them in the end (unordered)
  int64_t n = 0;
  int64_t lo = 0, hi = 0;  // the unreduced block being iterated
  int cur = 0;             // which of q/e/d holds the current array
  bool in_block = false, has_pass = false, failed = false, retry = false;
  double shift = 0;  // Σ τ of the block's successful passes
  double candidates[4] = {};
  int num_candidates = 0, next_candidate = 0;
  double tau = 0;
  int64_t emitted = 0, passes = 0;

  /// Deflates what has converged and picks the next pass's shift; false once every eigenvalue is
  /// out (or on failure).
  bool Prepare() {
    if (failed) return false;
    if (retry) {
      retry = false;
      tau = candidates[next_candidate++];
      return true;
    }
    for (;;) {
      if (hi < 0) return false;
      if (!in_block) StartBlock();
      const double* qc = q[cur];
      const double* ec = e[cur];
      if (hi == lo) {
        out[emitted++] = qc[hi] + shift;
        --hi;
        in_block = false;
        continue;
      }
      if (ec[hi - 1] <= kTolerance2 * (shift + qc[hi]) || ec[hi - 1] <= kTolerance2 * qc[hi - 1]) {
        out[emitted++] = qc[hi] + shift;
        --hi;
        continue;
      }
      if (hi - 1 == lo || ec[hi - 2] <= kTolerance2 * (shift + qc[hi - 1]) ||
          ec[hi - 2] <= kTolerance2 * qc[hi - 2]) {
        // Eigenvalues of [[a, √(ab)], [√(ab), b + c]] (BᵀB of the last two rows): trace a + b + c,
        // determinant ac; the discriminant as a sum of non-negative terms, the small root as
        // ac/λ₊ (no cancellation).
        const double a = qc[hi - 1], b = ec[hi - 1], c = qc[hi];
        const double big =
            0.5 * ((a + b + c) + std::sqrt((a - c) * (a - c) + b * (b + 2 * (a + c))));
        out[emitted++] = big + shift;
        out[emitted++] = (big > 0 ? a * c / big : 0.0) + shift;
        hi -= 2;
        if (hi < lo) in_block = false;
        continue;
      }
      if (++passes > 30 * n) {
        failed = true;
        return false;
      }
      PlanShifts();
      tau = candidates[next_candidate++];
      return true;
    }
  }

  /// After the pass: the new array on success, else the next candidate (or failure).
  void Finish(bool ok) {
    if (ok) {
      cur = 1 - cur;
      shift += tau;
      has_pass = true;
    } else if (next_candidate < num_candidates) {
      retry = true;
    } else {
      failed = true;
    }
  }

 private:
  /// The unreduced block ending at hi. Its values have not been touched yet: they are in buffer
  /// 0 (passes only ever wrote to [lo, hi] of finished blocks, below this one).
  void StartBlock() {
    cur = 0;
    const double* qc = q[0];
    const double* ec = e[0];
    lo = hi;
    while (lo > 0 && !(ec[lo - 1] <= kTolerance2 * std::min(qc[lo - 1], qc[lo]))) --lo;
    if (1.5 * qc[lo] < qc[hi]) {
      // Graded upward: reversed (the same σ: the reversal of Bᵀ is upper bidiagonal with d and
      // e reversed), so that the small values, which dqds finds first, are at the bottom
      // (LAPACK dlasq2 does the same).
      std::reverse(q[0] + lo, q[0] + hi + 1);
      std::reverse(e[0] + lo, e[0] + hi);
    }
    shift = 0;
    has_pass = false;
    in_block = true;
  }

  void PlanShifts() {
    num_candidates = next_candidate = 0;
    if (!has_pass) {
      candidates[num_candidates++] = 0;
      return;
    }
    const double* qc = q[cur];
    const double* ec = e[cur];
    const double* dc = d[1 - cur];  // the d of the pass that produced the current array
    double dmin = dc[lo];
    for (int64_t k = lo + 1; k <= hi; ++k) dmin = std::min(dmin, dc[k]);
    double bound = dmin > 0 ? 0.25 * dmin : 0.0;
    if (dmin > 0 && dc[hi] == dmin && ec[hi - 1] <= qc[hi - 1]) {
      double term = ec[hi - 1] / qc[hi - 1], sum = term;
      bool usable = true;
      for (int64_t k = hi - 1; k > lo && term != 0; --k) {
        const double previous = term;
        if (ec[k - 1] > qc[k - 1]) {
          usable = false;
          break;
        }
        term *= ec[k - 1] / qc[k - 1];
        sum += term;
        if (100 * std::max(term, previous) < sum || sum > 0.5625) break;
      }
      sum *= 1.05;
      if (usable && sum < 0.5625) bound = dc[hi] * (1 - std::sqrt(sum)) / (1 + sum);
    }
    // Smallest eigenvalue of the trailing 2×2 of BBᵀ, [[q_{hi−1} + e_{hi−1}, √(e q_hi)], [.,
    // q_hi]]: determinant q_{hi−1}·q_hi, discriminant (a − c)² + 4 e q_hi.
    const double a = qc[hi - 1] + ec[hi - 1], c = qc[hi];
    const double big = 0.5 * ((a + c) + std::sqrt((a - c) * (a - c) + 4 * ec[hi - 1] * c));
    const double estimate = std::min(big > 0 ? qc[hi - 1] * c / big : 0.0, c);
    if (estimate > bound) candidates[num_candidates++] = bound + 0.99 * (estimate - bound);
    candidates[num_candidates++] = bound;
    if (bound > 0) {
      candidates[num_candidates++] = 0.25 * bound;
      candidates[num_candidates++] = 0;
    }
  }
};

/// One bidiagonal's pass in progress: the next step is k (k < end).
struct PassLane {
  const double* q;  // current array
  const double* e;
  double* q_next;  // what the pass writes
  double* e_next;
  double* d_values;
  int64_t k = 0, end = 0;
  double d = 0, tau = 0;
  bool ok = true;
  Dqds* state = nullptr;
};

/// `steps` steps of each of the L lanes, unrolled across lanes on local copies, so that the L
/// chains overlap and d stays in a register (with the lanes indexed in a runtime loop, GCC kept d
/// and the pointers in memory and the store-to-load forwarding sat in every chain).
template <int L>
void AdvanceLanes(PassLane* lanes, int64_t steps) {
  PassLane x[L];
  for (int l = 0; l < L; ++l) x[l] = lanes[l];
  for (int64_t i = 0; i < steps; ++i) {
#pragma GCC unroll 4
    for (int l = 0; l < L; ++l) {
      const int64_t k = x[l].k;
      const double q_hat = x[l].d + x[l].e[k];
      const double t = x[l].q[k + 1] / q_hat;
      x[l].e_next[k] = x[l].e[k] * t;
      x[l].q_next[k] = q_hat;
      x[l].d = x[l].d * t - x[l].tau;
      x[l].d_values[k + 1] = x[l].d;
      x[l].ok = x[l].ok & (x[l].d >= 0);  // false from the first negative (or NaN) d on
      x[l].k = k + 1;
    }
  }
  for (int l = 0; l < L; ++l) lanes[l] = x[l];
}

/// One pass of each of up to kLanes states, their steps interleaved: the lanes sorted by length,
/// all of them advance together up to the shortest's end, then the rest, and so on.
void RunPasses(std::span<Dqds* const> states) {
  const int count = static_cast<int>(states.size());
  PassLane lanes[kLanes];
  for (int l = 0; l < count; ++l) {
    Dqds& s = *states[static_cast<size_t>(l)];
    PassLane& x = lanes[l];
    x.q = s.q[s.cur];
    x.e = s.e[s.cur];
    x.q_next = s.q[1 - s.cur];
    x.e_next = s.e[1 - s.cur];
    x.d_values = s.d[s.cur];  // d[1 − cur] of the new array after Finish(true)
    x.k = s.lo;
    x.end = s.hi;
    x.tau = s.tau;
    x.d = x.q[s.lo] - s.tau;
    x.d_values[s.lo] = x.d;
    x.ok = x.d >= 0;
    x.state = &s;
  }
  // Insertion sort by length (std::sort on the 4-array trips GCC 12's -Warray-bounds).
  for (int l = 1; l < count; ++l) {
    for (int m = l; m > 0 && lanes[m].end - lanes[m].k < lanes[m - 1].end - lanes[m - 1].k; --m) {
      std::swap(lanes[m], lanes[m - 1]);
    }
  }
  for (int j = 0; j < count; ++j) {
    // lanes[j..count) still have at least `steps` to go (the earlier ones are finished; the
    // advanced lanes' k are updated in place).
    const int64_t steps = lanes[j].end - lanes[j].k;
    switch (count - j) {
      case 4:
        AdvanceLanes<4>(lanes + j, steps);
        break;
      case 3:
        AdvanceLanes<3>(lanes + j, steps);
        break;
      case 2:
        AdvanceLanes<2>(lanes + j, steps);
        break;
      default:
        AdvanceLanes<1>(lanes + j, steps);
        break;
    }
  }
  for (int l = 0; l < count; ++l) {
    PassLane& x = lanes[l];
    x.q_next[x.end] = x.d;
    x.state->Finish(x.ok);
  }
}

}  // namespace

void BidiagonalizeSquare(std::span<const double> matrices, int64_t n, std::span<double> diagonal,
                         std::span<double> super_diagonal) {
  if (n <= 0) return;
  const auto nn = static_cast<size_t>(n * n);
  const size_t k = matrices.size() / nn;
  assert(diagonal.size() >= k * static_cast<size_t>(n));
  assert(super_diagonal.size() >= k * static_cast<size_t>(n));
  std::vector<Pack> a(nn), scratch(4 * static_cast<size_t>(n)), d(static_cast<size_t>(n)),
      e(d.size());
  for (size_t first = 0; first < k; first += kLanes) {
    // Column-major Mᵀ is row-major M: each lane is one contiguous copy. Missing lanes of the
    // last group are zero matrices (τ = 0 throughout).
    for (int l = 0; l < kLanes; ++l) {
      const size_t m = first + static_cast<size_t>(l);
      if (m < k) {
        const double* src = matrices.data() + m * nn;
        for (size_t x = 0; x < nn; ++x) a[x].v[l] = src[x];
      } else {
        for (size_t x = 0; x < nn; ++x) a[x].v[l] = 0.0;
      }
    }
    BidiagonalizeFour(&a[0].v, &scratch[0].v, &d[0].v, &e[0].v, n);
    simd4::ScatterLanes(d.data(), e.data(), first, k, n, diagonal, super_diagonal);
  }
}

void SquareSingularValues(std::span<const double> matrices, int64_t n, std::span<double> sigma) {
  if (n <= 0) return;
  const auto un = static_cast<size_t>(n);
  const size_t nn = un * un;
  const size_t k = matrices.size() / nn;
  assert(sigma.size() >= k * un);
  // Matrices outside the safe range go through a scaled copy (exact: powers of two).
  std::vector<int> exponent(k);
  bool any_scaled = false;
  for (size_t m = 0; m < k; ++m) {
    exponent[m] = ScaleExponent(matrices.data() + m * nn, nn);
    any_scaled = any_scaled || exponent[m] != 0;
  }
  std::vector<double> scaled;
  std::span<const double> input = matrices.first(k * nn);
  if (any_scaled) {
    scaled.assign(input.begin(), input.end());
    for (size_t m = 0; m < k; ++m) {
      if (exponent[m] == 0) continue;
      for (size_t x = m * nn; x < (m + 1) * nn; ++x) scaled[x] = std::ldexp(scaled[x], exponent[m]);
    }
    input = scaled;
  }
  std::vector<double> e(k * un);
  BidiagonalizeSquare(input, n, sigma, e);
  BidiagonalSingularValues(sigma.first(k * un), e, n);
  for (size_t m = 0; m < k; ++m) {
    if (exponent[m] == 0) continue;
    double* s = sigma.data() + m * un;
    for (size_t i = 0; i < un; ++i) s[i] = std::ldexp(s[i], -exponent[m]);
  }
}

void BidiagonalSingularValues(std::span<double> diagonal, std::span<const double> super_diagonal,
                              int64_t n) {
  if (n <= 0) return;
  const auto un = static_cast<size_t>(n);
  const size_t k = diagonal.size() / un;
  assert(super_diagonal.size() >= k * un);
  // Per lane: q, e (two buffers each), d (two), the emitted eigenvalues.
  std::vector<double> buffers(static_cast<size_t>(kLanes) * 7 * un);
  for (size_t first = 0; first < k; first += kLanes) {
    const size_t count = std::min<size_t>(kLanes, k - first);
    std::vector<Dqds> states(count);
    for (size_t l = 0; l < count; ++l) {
      double* base = buffers.data() + l * 7 * un;
      Dqds& s = states[l];
      s.q[0] = base;
      s.q[1] = base + un;
      s.e[0] = base + 2 * un;
      s.e[1] = base + 3 * un;
      s.d[0] = base + 4 * un;
      s.d[1] = base + 5 * un;
      s.out = base + 6 * un;
      s.n = n;
      s.hi = n - 1;
      const double* dg = diagonal.data() + (first + l) * un;
      const double* sd = super_diagonal.data() + (first + l) * un;
      for (size_t i = 0; i < un; ++i) {
        s.q[0][i] = dg[i] * dg[i];
        s.e[0][i] = i + 1 < un ? sd[i] * sd[i] : 0.0;
      }
    }
    std::vector<Dqds*> active;
    for (;;) {
      active.clear();
      for (Dqds& s : states) {
        if (s.Prepare()) active.push_back(&s);
      }
      if (active.empty()) break;
      RunPasses(active);
    }
    for (size_t l = 0; l < count; ++l) {
      const Dqds& s = states[l];
      double* dg = diagonal.data() + (first + l) * un;
      if (s.failed) {
        // Not converged within 30·n passes (never seen in the tests or the benchmark): the
        // one-sided Jacobi SVD of the bidiagonal (absolute accuracy ε·σ₁ only).
        Eigen::MatrixXd b = Eigen::MatrixXd::Zero(n, n);
        const double* sd = super_diagonal.data() + (first + l) * un;
        for (int64_t i = 0; i < n; ++i) {
          b(i, i) = dg[i];
          if (i + 1 < n) b(i, i + 1) = sd[i];
        }
        const Eigen::VectorXd values = Eigen::JacobiSVD<Eigen::MatrixXd>(b).singularValues();
        std::copy(values.data(), values.data() + n, dg);
        continue;
      }
      assert(s.emitted == n);  // Prepare() ends without failure only once hi < 0
      std::sort(s.out, s.out + n, std::greater<>());
      for (size_t i = 0; i < un; ++i) dg[i] = std::sqrt(s.out[i]);
    }
  }
}

}  // namespace sinkscope::analyzers
