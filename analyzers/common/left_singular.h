// σ and the leading left singular vectors of a short, wide float64 matrix (a few dozen rows of
// hidden-size vectors), the part of an SVD that PCA scores and MLP-output subspaces need.
//
// Ideas: the r×r Gram matrix M Mᵀ has eigenvalues σ² and eigenvectors U, so when the wanted
// eigenvalues are well separated (every gap λ_c − λ_{c+1} > 1e-6·λ_1 and each checked λ above
// `floor`·λ_1: U accurate to ~1e-10, σ = √λ to ~1e-8 relative) one r×r symmetric eigensolve
// replaces the SVD of the r×d matrix: Householder tridiagonalization, the eigenvalues by implicit
// QR without vectors (or, when only k σ are wanted, the few that are checked by bisection), and
// only the k wanted eigenvectors by inverse iteration on the tridiagonal form (each orthogonalized
// against the previous ones) mapped back through the reflectors. Otherwise LAPACK's SVD
// (at::linalg_svd, faster than Eigen's BDCSVD at these sizes) runs on M itself or, when M is wide
// (d > r), on its r×r triangular factor (Mᵀ = Q R makes M = Rᵀ Qᵀ, so σ and U are those of Rᵀ),
// never forming Q, V or U of the full M.
#pragma once

#include <cstdint>
#include <vector>

#include <Eigen/Dense>

namespace sinkscope::analyzers {

struct LeftSingular {
  Eigen::MatrixXd u;  ///< [r, k]: the first k left singular vectors (columns)
  std::vector<double>
      sigma;  ///< descending: all min(r, d) of them when all_sigma, else the first k
};

/// The first k (1 ≤ k ≤ min(r, d)) left singular pairs of m [r, d]. The Gram shortcut checks the
/// gaps of the first k eigenvalues and `floor` on the first k of them, or on all r when
/// `all_sigma` (then every σ is returned).
LeftSingular LeftSingularVectors(const Eigen::MatrixXd& m, int64_t k, bool all_sigma, double floor);

/// The same with the Gram matrix m mᵀ given (only its lower triangle is read), for callers that
/// have it already or can form it more cheaply; m itself is read only by the SVD fallback.
LeftSingular LeftSingularVectorsFromGram(const Eigen::MatrixXd& gram, const Eigen::MatrixXd& m,
                                         int64_t k, bool all_sigma, double floor);

}  // namespace sinkscope::analyzers
