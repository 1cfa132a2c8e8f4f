#include "analyzers/common/small_singular_values.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

#include <Eigen/SVD>

#include "analyzers/common/simd4.h"

// LAPACK (Fortran, LP64 integers): singular values of an n×n upper bidiagonal, d (n) and e
// (n − 1); d receives σ in decreasing order, e and work (4n) are overwritten; info > 0: no
// convergence.
extern "C" void dlasq1_(const int* n, double* d, double* e, double* work, int* info);

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
  // The Householder reflector of x = (alpha, x₁, …) with sigma = Σ xᵢ² (i ≥ 1), as LAPACK dlarfg:
  // β = −sign(alpha)‖x‖, τ = (β − alpha)/β, v = x/(alpha − β) (scale) with v₀ = 1. A lane whose
  // sigma is 0 gets τ = 0 (H = I) and β = alpha.
  auto reflector = [&](const V4& alpha, const V4& sigma, V4& tau, V4& beta, V4& scale) {
    V4 norm;
    for (int l = 0; l < kLanes; ++l) norm[l] = std::sqrt(alpha[l] * alpha[l] + sigma[l]);
    const M4 trivial = sigma == zero;
    beta = trivial ? alpha : (alpha >= zero ? -norm : norm);
    // Lanes with τ = 0 compute 0/0 or x/0 here; the selects drop those values.
    tau = trivial ? zero : (beta - alpha) / beta;
    scale = trivial ? zero : 1.0 / (alpha - beta);
  };
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
    reflector(col[c], sigma, tau, beta, scale);
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
    reflector(a[f * n + j] - w[f], sigma, tau_right, beta, scale);
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
    for (int l = 0; l < kLanes && first + static_cast<size_t>(l) < k; ++l) {
      const size_t out = (first + static_cast<size_t>(l)) * static_cast<size_t>(n);
      for (int64_t i = 0; i < n; ++i) {
        diagonal[out + static_cast<size_t>(i)] = d[static_cast<size_t>(i)].v[l];
        super_diagonal[out + static_cast<size_t>(i)] = e[static_cast<size_t>(i)].v[l];
      }
    }
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
  std::vector<double> e(k * un), work(4 * un);
  BidiagonalizeSquare(input, n, sigma, e);
  const int size = static_cast<int>(n);
  for (size_t m = 0; m < k; ++m) {
    double* s = sigma.data() + m * un;
    int info = 0;
    dlasq1_(&size, s, e.data() + m * un, work.data(), &info);
    if (info != 0) {
      // dlasq1 did not converge (never seen): the one-sided Jacobi SVD of the (scaled) matrix.
      using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
      const Eigen::Map<const RowMajor> matrix(input.data() + m * nn, n, n);
      const Eigen::VectorXd values = Eigen::JacobiSVD<Eigen::MatrixXd>(matrix).singularValues();
      std::copy(values.data(), values.data() + n, s);
    }
    if (exponent[m] != 0) {
      for (size_t i = 0; i < un; ++i) s[i] = std::ldexp(s[i], -exponent[m]);
    }
  }
}

}  // namespace sinkscope::analyzers
