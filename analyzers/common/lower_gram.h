// The lower triangle of the Gram matrix X Xᵀ of a few dozen hidden-size row vectors (the token
// dot products of the value family, the MLP-output Gram of the decomposition family): plain C++,
// no torch.
#pragma once

#include <cstdint>

namespace sinkscope::analyzers {

/// g(i, j) = Σ_k x(i, k)·x(j, k) for j ≤ i, x row-major [n, d], g column-major [n, n] (leading
/// dimension n; the strict upper triangle is not written). Three rows against three at a time,
/// four columns per step in 4-double vectors, compiled for AVX2 and for the x86-64 baseline
/// (target_clones); both clones give bit-identical results (the same lane-wise operations and the
/// same final reduction order, no FMA contraction under -std=c++20).
void LowerGram(const double* x, int64_t n, int64_t d, double* g);

}  // namespace sinkscope::analyzers
