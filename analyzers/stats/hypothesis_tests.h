// Two-sample and paired tests across sentences: Welch's t (the notebooks' choice, spec
// paper-topology-spectral §3.5, kept for PAPER), Student's paired t and the Wilcoxon signed-rank
// test (the CORRECTED choice for paired per-sentence metrics, §8.4). All two-sided, with
// scipy.stats (1.17) semantics so published p-values reproduce:
//  * ttest_ind(equal_var=False): Welch–Satterthwaite degrees of freedom; 0/0 degrees of freedom
//    become 1, so two constant, equal samples give t = NaN and p = NaN, identical samples p = 1.
//  * ttest_rel: t = mean(d)/(sd(d)/√n) on d = x − y with n − 1 degrees of freedom.
//  * wilcoxon(zero_method="wilcox", correction=False, method="auto"): zero differences are
//    dropped; ranks of |d| with ties averaged; n > 50 (zeros included in n) → normal
//    approximation with the tie correction; otherwise without ties or zeros → the exact null
//    distribution of R+; with ties or zeros and n ≤ 13 → the exact sign-flip permutation
//    distribution (2ⁿ flips); else the normal approximation.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/status.h"

namespace sinkscope::analyzers::stats {

struct TestResult {
  double statistic = 0;  ///< t (Welch, paired t) or min(R+, R−) (Wilcoxon, as scipy reports it)
  double p_value = 0;    ///< two-sided
  double df = 0;         ///< degrees of freedom of t tests; NaN for Wilcoxon
  std::string method;    ///< "welch", "paired-t", "wilcoxon-exact", "wilcoxon-permutation",
                         ///< "wilcoxon-normal"
  int64_t n = 0;         ///< pairs (paired tests) or n1 + n2
  int64_t num_nan = 0;   ///< NaN inputs: any makes statistic and p NaN (scipy's `propagate`)
  int64_t num_zero_differences = 0;  ///< Wilcoxon: pairs with x = y, dropped
};

/// One-sample t test of mean(x) = mu (scipy.stats.ttest_1samp): t = (x̄ − mu)/(s/√n), s with
/// ddof 1, n − 1 degrees of freedom; all-equal input gives t = NaN (0/0) and p NaN, or ±∞ and p 0
/// when the constant differs from mu. InvalidArgument for fewer than 2 values.
StatusOr<TestResult> OneSampleTTest(std::span<const double> x, double mu = 0.0);

/// Welch's unequal-variance t test. InvalidArgument if either sample has fewer than 2 values.
StatusOr<TestResult> WelchTTest(std::span<const double> x, std::span<const double> y);

/// Student's paired t test. InvalidArgument for different lengths or fewer than 2 pairs.
StatusOr<TestResult> PairedTTest(std::span<const double> x, std::span<const double> y);

/// Fisher's method for combining K independent p-values: X = −2 Σ ln(p_k + epsilon), p = P(χ²_{2K}
/// > X). The notebooks (spec paper-infogeo-value §9) add epsilon = 1e-10 and compute 1 − CDF;
/// `paper_one_minus_cdf` does the same, otherwise the survival function is evaluated directly
/// (accurate for tiny p). statistic = X, df = 2K. NaN p-values are skipped and counted.
/// InvalidArgument for no usable p-value or one outside [0, 1].
StatusOr<TestResult> FisherCombine(std::span<const double> p_values, double epsilon = 1e-10,
                                   bool paper_one_minus_cdf = false);

/// Wilcoxon signed-rank test on the pairs (x_i, y_i). InvalidArgument for different lengths or
/// no pairs. All differences zero → statistic 0, p NaN (scipy gives NaN too).
StatusOr<TestResult> WilcoxonSignedRank(std::span<const double> x, std::span<const double> y);

}  // namespace sinkscope::analyzers::stats
