// Eigenvalues of many small dense symmetric float64 matrices of one size (the 48×48 Laplacians of
// the spectral analyzer, the (1/m)·Z·Zᵀ of rmt): plain C++, no torch.
//
// Ideas:
// * Householder tridiagonalization (Golub & Van Loan §8.3.1; LAPACK dsytd2's unblocked algorithm,
//   lower triangle) of 4 matrices at once, one matrix per lane of a 4-double vector (GCC vector
//   extensions), so the symmetric matrix-vector product and the rank-2 update need no horizontal
//   reduction: each lane does exactly the scalar algorithm. Compiled twice (target_clones: AVX2
//   and the x86-64 baseline, where a 4-double vector is two SSE2 registers); the clone is picked
//   at load time, and both round identically (no FMA contraction under -std=c++20).
// * Selected eigenvalues by bisection with Sturm counts (the number of negative pivots of
//   T − xI = LDLᵀ is the number of eigenvalues below x; Wilkinson 1965, LAPACK dstebz/dlaebz),
//   16 chains at a time as four 4-lane vectors, so the divisions of the recurrence pipeline;
//   counts at Newton points (x − m/S, S = (d/dx) ln|det(T − xI)| from the same pass) once they
//   fall inside the bracket, and the unfinished chains regrouped every 16 counts (~29 counts per
//   value on the bench capture instead of ~52; docs/spectral.md).
// * All eigenvalues of a tridiagonal by the root-free implicit QL iteration of Pal, Walker and
//   Kahan (Parlett, The Symmetric Eigenvalue Problem, §8.15; LAPACK dsterf): it works on the
//   squared off-diagonal and needs one square root per sweep instead of one per rotation.
// Every path is backward stable: eigenvalues within a small multiple of ε‖A‖ of the exact ones.
//
// Measured at n = 48 (docs/spectral.md, docs/rmt.md): tridiagonalization 6.2 µs per matrix
// (Eigen::Tridiagonalization 20.5 µs), 320 bisections 0.41 ms, all eigenvalues 32 µs per matrix
// (Eigen's SelfAdjointEigenSolver 96 µs). The baseline (non-AVX2) clone is no faster than Eigen:
// 21 µs per tridiagonalization and 2.1 ms for the 320 bisections (its 64-bit lane compares are
// emulated).
#pragma once

#include <cstdint>
#include <span>

namespace sinkscope::analyzers {

/// Tridiagonalizes the k = matrices.size() / n² symmetric n×n matrices stored row-major one after
/// the other (only the lower triangle is read, like LAPACK with UPLO = 'L'). Writes, per matrix,
/// its diagonal to diagonal[m·n, m·n + n) and its off-diagonal to off_diagonal[m·n, m·n + n − 1)
/// (off_diagonal[m·n + n − 1] = 0). Both spans hold k·n values. The signs of the off-diagonal are
/// those of the reflections; eigenvalues depend only on their magnitudes.
void TridiagonalizeSymmetric(std::span<const double> matrices, int64_t n,
                             std::span<double> diagonal, std::span<double> off_diagonal);

/// One eigenvalue to find by bisection: λ_rank (1-based, ascending; 1 ≤ rank ≤ n) of tridiagonal
/// number `matrix`.
struct RankedEigenvalue {
  int64_t matrix = 0;
  int64_t rank = 1;
};

/// λ_rank of each request on the tridiagonals (diagonal, off_diagonal as TridiagonalizeSymmetric
/// writes them), written to out[r] for request r. The search stops at an interval of
/// 4ε·‖T‖ (Gershgorin) and returns its midpoint; a chain stops independently of the others, so a
/// value does not depend on which requests share its vector.
void TridiagonalEigenvaluesByRank(std::span<const double> diagonal,
                                  std::span<const double> off_diagonal, int64_t n,
                                  std::span<const RankedEigenvalue> requests,
                                  std::span<double> out);

/// The number of eigenvalues of one tridiagonal (d[0..n), e[0..n−1)) strictly below x, from the
/// Sturm count with LAPACK's pivot guard (the one the bisection uses).
int64_t CountTridiagonalEigenvaluesBelow(const double* d, const double* e, int64_t n, double x);

/// All eigenvalues of one tridiagonal in ascending order: d[0..n) is replaced by them; e[0..n−1)
/// (the off-diagonal) is overwritten. Root-free QL; if it ever fails to converge in 30·n sweeps,
/// every eigenvalue comes from bisection on the original tridiagonal instead.
void TridiagonalEigenvalues(std::span<double> d, std::span<double> e);

/// All eigenvalues (ascending) of each of the k symmetric n×n row-major matrices: eigenvalues
/// [m·n, m·n + n) for matrix m. Tridiagonalization 4 at a time, then root-free QL with the
/// iterations of 4 matrices interleaved (48×48: 32 µs per matrix; Eigen's SelfAdjointEigenSolver
/// 96 µs).
void SymmetricEigenvalues(std::span<const double> matrices, int64_t n,
                          std::span<double> eigenvalues);

}  // namespace sinkscope::analyzers
