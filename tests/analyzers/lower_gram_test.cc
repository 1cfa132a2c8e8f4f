// LowerGram against Eigen's product and against a scalar loop with the kernel's own summation
// order, on shapes that are not multiples of its 3×3 row tile or its 4-column step.
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>
#include <Eigen/Dense>

#include "analyzers/common/lower_gram.h"

namespace sinkscope::analyzers {
namespace {

using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Σ_k a_k b_k in the kernel's order: four lane sums over the first d/4·4 columns, combined as
/// (l0 + l1) + (l2 + l3), then the remaining columns one by one. Whichever clone runs (AVX2 or
/// the baseline), the kernel must reproduce it bit for bit.
double KernelOrderDot(const double* a, const double* b, int64_t d) {
  double lane[4] = {0, 0, 0, 0};
  const int64_t d4 = d / 4 * 4;
  for (int64_t k = 0; k < d4; k += 4) {
    for (int l = 0; l < 4; ++l) lane[l] += a[k + l] * b[k + l];
  }
  double sum = (lane[0] + lane[1]) + (lane[2] + lane[3]);
  for (int64_t k = d4; k < d; ++k) sum += a[k] * b[k];
  return sum;
}

TEST(LowerGramTest, MatchesEigenOnOddShapes) {
  for (int64_t n : {1, 2, 3, 5, 7, 9, 48}) {
    for (int64_t d : {1, 3, 4, 6, 13, 577}) {
      const RowMajor x = RowMajor::Random(n, d);
      const double marker = -12345.0;  // the strict upper triangle must stay untouched
      Eigen::MatrixXd g = Eigen::MatrixXd::Constant(n, n, marker);
      LowerGram(x.data(), n, d, g.data());
      const Eigen::MatrixXd want = x * x.transpose();
      for (int64_t j = 0; j < n; ++j) {
        for (int64_t i = 0; i < n; ++i) {
          if (i < j) {
            EXPECT_EQ(g(i, j), marker) << "n=" << n << " d=" << d << " (" << i << ", " << j << ")";
            continue;
          }
          EXPECT_NEAR(g(i, j), want(i, j), 1e-13 * static_cast<double>(d))
              << "n=" << n << " d=" << d << " (" << i << ", " << j << ")";
          EXPECT_EQ(g(i, j), KernelOrderDot(&x(i, 0), &x(j, 0), d))
              << "n=" << n << " d=" << d << " (" << i << ", " << j << ")";
        }
      }
    }
  }
}

}  // namespace
}  // namespace sinkscope::analyzers
