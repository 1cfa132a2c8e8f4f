#include "analyzers/common/left_singular.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>

namespace sinkscope::analyzers {

LeftSingular LeftSingularVectors(const Eigen::MatrixXd& m, int64_t k, bool all_sigma,
                                 double floor) {
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const int64_t r = m.rows();
  const int64_t kept = all_sigma ? std::min<int64_t>(r, m.cols()) : k;
  LeftSingular out;
  out.u.resize(r, k);
  out.sigma.resize(static_cast<size_t>(kept));

  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(m * m.transpose());
  if (eig.info() == Eigen::Success) {
    const Eigen::VectorXd& lambda = eig.eigenvalues();  // ascending
    const Eigen::Index top = r - 1;
    const double l1 = lambda[top];
    bool separated = l1 > 0;
    for (int64_t c = 0; c < (all_sigma ? r : k) && separated; ++c) {
      separated = lambda[top - c] > floor * l1;
    }
    for (int64_t c = 0; c < k && separated; ++c) {
      const double next = top - c - 1 >= 0 ? lambda[top - c - 1] : 0.0;
      separated = lambda[top - c] - next > 1e-6 * l1;
    }
    if (separated) {
      for (int64_t c = 0; c < k; ++c) out.u.col(c) = eig.eigenvectors().col(top - c);
      for (int64_t c = 0; c < kept; ++c) out.sigma[c] = std::sqrt(lambda[top - c]);
      return out;
    }
  }
  RowMajor small = m.cols() > r ? RowMajor(Eigen::HouseholderQR<Eigen::MatrixXd>(m.transpose())
                                               .matrixQR()
                                               .topRows(r)
                                               .triangularView<Eigen::Upper>()
                                               .transpose())
                                : RowMajor(m);
  auto [ut, st, vt] =
      at::linalg_svd(at::from_blob(small.data(), {small.rows(), small.cols()}, at::kDouble),
                     /*full_matrices=*/false);
  const at::Tensor u_host = ut.contiguous();
  out.u = Eigen::Map<const RowMajor>(u_host.data_ptr<double>(), u_host.size(0), u_host.size(1))
              .leftCols(k);
  const at::Tensor s_host = st.contiguous();
  std::copy(s_host.data_ptr<double>(), s_host.data_ptr<double>() + kept, out.sigma.begin());
  return out;
}

}  // namespace sinkscope::analyzers
