// Singular values of many small dense square float64 matrices of one size (the 48×48 attention
// matrices of the rmt analyzer): plain C++ (and Eigen for a fallback), no torch.
//
// Ideas:
// * Householder bidiagonalization (Golub & Van Loan §5.4.8; LAPACK dgebd2's unblocked algorithm)
//   of 4 matrices at once, one matrix per lane of a 4-double vector (analyzers/common/simd4.h),
//   like the tridiagonalization of small_symmetric_eigen.cc: each lane does exactly the scalar
//   algorithm. Per column j the left reflector's update of the trailing matrix is fused with the
//   product A·u of the right reflector (u only needs row j, which follows from vᵀA alone), and
//   the right update with the product vᵀA of the next left reflector: two passes over the
//   trailing matrix per column instead of four.
// * Singular values of the upper bidiagonal by dqds (Fernando & Parlett 1994; the algorithm of
//   LAPACK dlasq1, high relative accuracy on the bidiagonal), the passes of four bidiagonals
//   interleaved so that their division chains overlap; Eigen's JacobiSVD of the bidiagonal if it
//   ever fails to converge.
// Like LAPACK's dgesdd, the result is backward stable: every σ within a small multiple of ε·σ₁
// of the exact one.
//
// Measured at n = 48 (AMD EPYC, one thread; docs/rmt.md): the bidiagonalization 15 µs per
// matrix with the copy-in (LAPACK dgebrd 35 µs); dlasq1 24 µs; at::linalg_svdvals (dgesdd) of
// [10, 48, 48] 70 µs per matrix.
#pragma once

#include <cstdint>
#include <span>

namespace sinkscope::analyzers {

/// Upper-bidiagonalizes the k = matrices.size() / n² square n×n matrices stored row-major one
/// after the other (of Mᵀ, which has the same singular values: its columns are M's rows, so the
/// copy into lanes is contiguous). Writes, per matrix, the diagonal to diagonal[m·n, m·n + n) and
/// the superdiagonal to super_diagonal[m·n, m·n + n − 1) (super_diagonal[m·n + n − 1] = 0). Signs
/// are those of the reflections; singular values depend only on the magnitudes. Entries must be
/// finite and their squares must neither overflow nor underflow wholesale (callers scale:
/// SquareSingularValues does).
void BidiagonalizeSquare(std::span<const double> matrices, int64_t n, std::span<double> diagonal,
                         std::span<double> super_diagonal);

/// Singular values, descending, of the k = diagonal.size() / n upper bidiagonals (diagonal
/// [m·n, m·n + n), superdiagonal [m·n, m·n + n − 1) as BidiagonalizeSquare writes them): written
/// over the diagonal. Entries must be finite with squares
/// below the largest double. σ have high relative accuracy down to 2⁻⁵¹¹ ≈ 1.5e-154, where their
/// squares leave the normal range (below that, absolute accuracy: SquareSingularValues' scaling
/// puts σ₁ near 1, so that is far below ε·σ₁). A bidiagonal on which dqds does not converge
/// (never seen in the tests or the benchmark) gets the σ of Eigen's JacobiSVD instead, to ε·σ₁.
void BidiagonalSingularValues(std::span<double> diagonal, std::span<const double> super_diagonal,
                              int64_t n);

/// Singular values, descending, of each of the k square n×n row-major matrices:
/// sigma[m·n, m·n + n) for matrix m. Entries must be finite. A matrix whose largest magnitude is
/// outside [2⁻²⁵⁶, 2²⁵⁶] is scaled by a power of two first (exact) and its σ scaled back.
void SquareSingularValues(std::span<const double> matrices, int64_t n, std::span<double> sigma);

}  // namespace sinkscope::analyzers
