// LeftSingularVectors against LAPACK's SVD (at::linalg_svd): the Gram path (tridiagonal
// eigenvalues + inverse iteration for the wanted vectors) and the SVD fallback for clustered
// spectra, on wide, square and tall matrices.
#include <cmath>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "analyzers/common/left_singular.h"

namespace sinkscope::analyzers {
namespace {

using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Checks k vectors (up to sign) and the σ the call returns against the reference SVD.
void ExpectMatchesSvd(const Eigen::MatrixXd& m, int64_t k, bool all_sigma, double floor) {
  const LeftSingular got = LeftSingularVectors(m, k, all_sigma, floor);
  RowMajor rm = m;
  const at::Tensor t = at::from_blob(rm.data(), {rm.rows(), rm.cols()}, at::kDouble).clone();
  auto [u, s, vt] = at::linalg_svd(t, /*full_matrices=*/false);
  const int64_t kept = all_sigma ? std::min<int64_t>(m.rows(), m.cols()) : k;
  ASSERT_EQ(got.sigma.size(), static_cast<size_t>(kept));
  const double s1 = s[0].item<double>();
  for (int64_t c = 0; c < kept; ++c) {
    EXPECT_NEAR(got.sigma[c], s[c].item<double>(), 1e-8 * s1) << "sigma " << c;
  }
  ASSERT_EQ(got.u.rows(), m.rows());
  ASSERT_EQ(got.u.cols(), k);
  for (int64_t c = 0; c < k; ++c) {
    double dot = 0;
    for (int64_t i = 0; i < m.rows(); ++i) dot += got.u(i, c) * u[i][c].item<double>();
    EXPECT_NEAR(std::fabs(dot), 1.0, 1e-9) << "vector " << c;
    EXPECT_NEAR(got.u.col(c).norm(), 1.0, 1e-12) << "vector " << c;
  }
}

TEST(LeftSingularTest, WideMatricesMatchLapackSvd) {
  at::manual_seed(3);
  for (int64_t r : {2, 3, 7, 48}) {
    const at::Tensor t = at::randn({r, 576}, at::kDouble).contiguous();
    const Eigen::MatrixXd m = Eigen::Map<const RowMajor>(t.data_ptr<double>(), r, 576);
    ExpectMatchesSvd(m, std::min<int64_t>(3, r), /*all_sigma=*/false, 1e-8);
    ExpectMatchesSvd(m, std::min<int64_t>(2, r), /*all_sigma=*/true, 1e-6);
  }
}

TEST(LeftSingularTest, SquareAndTallMatricesWithDecayingSpectrum) {
  at::manual_seed(4);
  for (int64_t r : {5, 48}) {
    // Columns scaled by 2^-j: a fast-decaying spectrum, the shape of attention-row PCA.
    const at::Tensor t =
        (at::randn({r, r}, at::kDouble) * at::pow(2.0, -at::arange(r, at::kDouble))).contiguous();
    const Eigen::MatrixXd m = Eigen::Map<const RowMajor>(t.data_ptr<double>(), r, r);
    ExpectMatchesSvd(m, 3, /*all_sigma=*/false, 1e-8);
  }
  const at::Tensor tall = at::randn({20, 4}, at::kDouble).contiguous();
  ExpectMatchesSvd(Eigen::Map<const RowMajor>(tall.data_ptr<double>(), 20, 4), 2, false, 1e-8);
}

TEST(LeftSingularTest, RepeatedSingularValuesTakeTheSvdPath) {
  // Orthogonal rows of equal norm: σ1 = σ2 = σ3, the eigenvectors are not determined by the Gram
  // matrix's gaps; the result must still be an orthonormal basis of singular vectors with the
  // right σ (any basis of the repeated space is valid, so only σ and orthonormality are checked).
  Eigen::MatrixXd m = Eigen::MatrixXd::Zero(3, 6);
  m(0, 0) = m(1, 2) = m(2, 4) = 2.0;
  const LeftSingular got = LeftSingularVectors(m, 2, /*all_sigma=*/false, 1e-8);
  ASSERT_EQ(got.sigma.size(), 2u);
  EXPECT_NEAR(got.sigma[0], 2.0, 1e-12);
  EXPECT_NEAR(got.sigma[1], 2.0, 1e-12);
  EXPECT_NEAR(got.u.col(0).norm(), 1.0, 1e-12);
  EXPECT_NEAR(got.u.col(1).norm(), 1.0, 1e-12);
  EXPECT_NEAR(got.u.col(0).dot(got.u.col(1)), 0.0, 1e-12);
}

}  // namespace
}  // namespace sinkscope::analyzers
