#include "analyzers/common/left_singular.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <vector>

#include <ATen/ATen.h>

#include "analyzers/common/lower_gram.h"
#include "analyzers/common/small_symmetric_eigen.h"

namespace sinkscope::analyzers {

namespace {

/// Overwrites x with (T − λI)⁻¹ x, T symmetric tridiagonal (diagonal d, off-diagonal e): Gaussian
/// elimination with partial pivoting (the row operations of LAPACK's dgtsv), pivots smaller than
/// `tiny` in magnitude replaced by ±tiny, so that λ equal to an eigenvalue to working precision
/// still gives a finite (huge) solution: one step of inverse iteration.
void ShiftedTridiagonalSolve(const Eigen::VectorXd& d, const Eigen::VectorXd& e, double lambda,
                             double tiny, Eigen::VectorXd& x) {
  const Eigen::Index r = d.size();
  Eigen::VectorXd diag = d.array() - lambda;
  Eigen::VectorXd sub = e, super = e;
  Eigen::VectorXd super2 = Eigen::VectorXd::Zero(std::max<Eigen::Index>(r, 1));
  auto guard = [tiny](double v) { return std::fabs(v) >= tiny ? v : (v < 0 ? -tiny : tiny); };
  for (Eigen::Index i = 0; i + 1 < r; ++i) {
    if (std::fabs(diag[i]) >= std::fabs(sub[i])) {
      diag[i] = guard(diag[i]);
      const double fact = sub[i] / diag[i];
      diag[i + 1] -= fact * super[i];
      x[i + 1] -= fact * x[i];
    } else {  // swap rows i and i + 1
      const double fact = diag[i] / sub[i];
      diag[i] = sub[i];
      const double next = diag[i + 1];
      diag[i + 1] = super[i] - fact * next;
      if (i + 2 < r) {
        super2[i] = super[i + 1];
        super[i + 1] = -fact * super2[i];
      }
      super[i] = next;
      const double xi = x[i];
      x[i] = x[i + 1];
      x[i + 1] = xi - fact * x[i + 1];
    }
  }
  for (Eigen::Index i = r - 1; i >= 0; --i) {
    double v = x[i];
    if (i + 1 < r) v -= super[i] * x[i + 1];
    if (i + 2 < r) v -= super2[i] * x[i + 2];
    x[i] = v / guard(diag[i]);
  }
}

/// Eigenvectors of the tridiagonal T for its eigenvalues `lambda` (well separated, accurate to
/// working precision) by inverse iteration, each orthogonalized against the ones before it:
/// columns of the result, unit length.
Eigen::MatrixXd TridiagonalEigenvectors(const Eigen::VectorXd& d, const Eigen::VectorXd& e,
                                        const std::vector<double>& lambda, double norm) {
  const Eigen::Index r = d.size();
  Eigen::MatrixXd v(r, static_cast<Eigen::Index>(lambda.size()));
  const double tiny =
      std::max(norm, std::numeric_limits<double>::min()) * std::numeric_limits<double>::epsilon();
  for (size_t c = 0; c < lambda.size(); ++c) {
    // A start with a component along every eigenvector (not orthogonal to the wanted one).
    Eigen::VectorXd x(r);
    for (Eigen::Index i = 0; i < r; ++i) x[i] = 1.0 + 0.5 * std::sin(1.7 * static_cast<double>(i));
    for (int step = 0; step < 3; ++step) {
      ShiftedTridiagonalSolve(d, e, lambda[c], tiny, x);
      for (size_t p = 0; p < c; ++p) {
        const auto prev = v.col(static_cast<Eigen::Index>(p));
        x -= prev.dot(x) * prev;
      }
      x /= x.norm();
    }
    v.col(static_cast<Eigen::Index>(c)) = x;
  }
  return v;
}

}  // namespace

LeftSingular LeftSingularVectors(const Eigen::MatrixXd& m, int64_t k, bool all_sigma,
                                 double floor) {
  // Only the Gram matrix's lower triangle is formed (LowerGram, half a product): it is all that
  // the tridiagonalization reads. The kernel reads rows, hence the row-major copy of m; with it,
  // against Eigen's symmetric rank update: ComputeMlpSubspace 0.221 → 0.183 ms per layer (the
  // 48×576 MLP outputs of bench/layer_metrics).
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const RowMajor rows = m;
  Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(m.rows(), m.rows());
  LowerGram(rows.data(), m.rows(), m.cols(), gram.data());
  return LeftSingularVectorsFromGram(gram, m, k, all_sigma, floor);
}

LeftSingular LeftSingularVectorsFromGram(const Eigen::MatrixXd& gram, const Eigen::MatrixXd& m,
                                         int64_t k, bool all_sigma, double floor) {
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const int64_t r = m.rows();
  const int64_t kept = all_sigma ? std::min<int64_t>(r, m.cols()) : k;
  LeftSingular out;
  out.u.resize(r, k);
  out.sigma.resize(static_cast<size_t>(kept));

  // The Gram matrix's eigenvalues from its tridiagonal form (QR, values only) and the k wanted
  // eigenvectors by inverse iteration on it, taken back through the Householder reflectors:
  // O(r²k) instead of accumulating every rotation into all r eigenvectors (the full
  // SelfAdjointEigenSolver cost ~3× as much at r = 48).
  const Eigen::Tridiagonalization<Eigen::MatrixXd> tri(gram);
  const Eigen::VectorXd diagonal = tri.diagonal();
  const Eigen::VectorXd off = tri.subDiagonal();
  // Ascending eigenvalues. With !all_sigma only the ones read below are filled in (the k + 1
  // largest and the smallest), by Sturm bisection on the tridiagonal (small_symmetric_eigen,
  // accurate to a few ε‖T‖ like the QR): measured on the value family's two 48×48 Gram
  // matrices per layer, ComputeAttentionValue 0.75 → 0.67 ms per layer against Eigen's implicit
  // QR for all r eigenvalues, which all_sigma still uses.
  Eigen::VectorXd lambda;
  bool solved = true;
  if (all_sigma || r < 2) {
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig;
    eig.computeFromTridiagonal(diagonal, off, Eigen::EigenvaluesOnly);
    solved = eig.info() == Eigen::Success;
    if (solved) lambda = eig.eigenvalues();
  } else {
    std::vector<double> e(static_cast<size_t>(r), 0.0);
    std::copy(off.data(), off.data() + r - 1, e.begin());
    std::vector<RankedEigenvalue> ranks = {{0, 1}};
    for (int64_t c = 0; c <= k && r - c > 1; ++c) ranks.push_back({0, r - c});
    std::vector<double> values(ranks.size());
    TridiagonalEigenvaluesByRank(std::span<const double>(diagonal.data(), r), e, r, ranks, values);
    lambda = Eigen::VectorXd::Zero(r);  // the others are never read
    for (size_t q = 0; q < ranks.size(); ++q) lambda[ranks[q].rank - 1] = values[q];
  }
  if (solved) {
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
      std::vector<double> wanted(static_cast<size_t>(k));
      for (int64_t c = 0; c < k; ++c) wanted[c] = lambda[top - c];
      const double norm = std::max(std::fabs(lambda[0]), std::fabs(l1));
      out.u = tri.matrixQ() * TridiagonalEigenvectors(diagonal, off, wanted, norm);
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
