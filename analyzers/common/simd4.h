// Four float64 lanes as GCC vector extensions, for the small dense solvers that process four
// matrices at once, one matrix per lane (small_symmetric_eigen.cc, small_singular_values.cc), and
// what those solvers share: the Householder reflector per lane and the copy out of the lanes.
// GCC lowers a V4 to one AVX2 register or two SSE2 registers, depending on the target_clones
// variant being compiled.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

namespace sinkscope::analyzers::simd4 {

constexpr int kLanes = 4;

// Four doubles, and the lane masks of their comparisons (−1 where true, 0 where false).
using V4 = double __attribute__((vector_size(32)));
using M4 = int64_t __attribute__((vector_size(32)));

// A V4 as a struct, so that std::vector allocates it 32-byte aligned without the attribute being
// dropped from the template argument (-Wignored-attributes). The alignas matters: without -mavx
// GCC gives the vector type itself 16-byte alignment, while the AVX2 clones load it with aligned
// 32-byte moves.
struct alignas(32) Pack {
  V4 v;
};

inline bool AnyLane(const M4& m) {
  return (m[0] | m[1] | m[2] | m[3]) != 0;
}

/// The Householder reflector of x = (alpha, x₁, …) per lane, with sigma = Σ xᵢ² (i ≥ 1), as
/// LAPACK dlarfg: β = −sign(alpha)‖x‖, τ = (β − alpha)/β, v = x/(alpha − β) (`scale` = 1/(alpha −
/// β)) with v₀ = 1. A lane whose sigma is 0 gets τ = 0 (H = I) and β = alpha. Always inlined, so
/// each target_clones variant of its callers compiles it for its own instruction set.
[[gnu::always_inline]] inline void Householder(const V4& alpha, const V4& sigma, V4& tau, V4& beta,
                                               V4& scale) {
  const V4 zero = {};
  V4 norm;
  for (int l = 0; l < kLanes; ++l) norm[l] = std::sqrt(alpha[l] * alpha[l] + sigma[l]);
  const M4 trivial = sigma == zero;
  beta = trivial ? alpha : (alpha >= zero ? -norm : norm);
  // Lanes with τ = 0 compute 0/0 or x/0 here; the selects drop those values.
  tau = trivial ? zero : (beta - alpha) / beta;
  scale = trivial ? zero : 1.0 / (alpha - beta);
}

/// The per-lane results d[0..n) and e[0..n) of the lane group that starts at matrix `first` into
/// diagonal/off_diagonal[m·n, m·n + n) for each of its lanes m < k (the padding lanes of the last
/// group are dropped).
inline void ScatterLanes(const Pack* d, const Pack* e, size_t first, size_t k, int64_t n,
                         std::span<double> diagonal, std::span<double> off_diagonal) {
  const auto un = static_cast<size_t>(n);
  for (int l = 0; l < kLanes && first + static_cast<size_t>(l) < k; ++l) {
    const size_t out = (first + static_cast<size_t>(l)) * un;
    for (size_t i = 0; i < un; ++i) {
      diagonal[out + i] = d[i].v[l];
      off_diagonal[out + i] = e[i].v[l];
    }
  }
}

}  // namespace sinkscope::analyzers::simd4
