#include "analyzers/rmt/paper_rmt.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <functional>
#include <limits>
#include <numbers>
#include <span>

#include "analyzers/stats/descriptive.h"
#include "analyzers/stats/numpy_semantics.h"
#include "core/torch_call.h"

namespace sinkscope::analyzers::rmt {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

float SumF32(std::span<const float> x) {
  return stats::NumpyPairwiseSum<float>(x);
}

/// Step 1: `col = M.sum(0); thr = percentile(col, 90); col[col >= thr].sum() / col.sum()`.
double PaperSinkConcentration(const float* m, int64_t n) {
  std::vector<float> col(static_cast<size_t>(n), 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) col[static_cast<size_t>(j)] += m[i * n + j];
  }
  std::vector<double> col64(col.begin(), col.end());
  // numpy 1.x compares a float32 array with a float64 scalar in float32 (value-based casting).
  const auto threshold = static_cast<float>(stats::Quantile(col64, 0.9));
  std::vector<float> selected;
  for (float c : col) {
    if (c >= threshold) selected.push_back(c);
  }
  const float total = SumF32(col);
  if (total == 0.0f) return 0.0;
  return static_cast<double>(SumF32(selected) / total);
}

/// Step 2: `mean([-sum(M[i] * log2(M[i] + 1e-10)) for i])`, all float32.
double PaperEntropy(const float* m, int64_t n) {
  const auto eps = static_cast<float>(1e-10);
  std::vector<float> rows(static_cast<size_t>(n)), terms(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const float v = m[i * n + j];
      terms[static_cast<size_t>(j)] = v * std::log2(v + eps);
    }
    rows[static_cast<size_t>(i)] = -SumF32(terms);
  }
  return static_cast<float>(static_cast<double>(SumF32(rows)) / static_cast<double>(n));
}

/// Step 3a: eigenvalue magnitudes, descending, from double eigenvalues (re, im) cast like
/// numpy 1.x.
std::vector<float> PaperEigenvalueMagnitudes(const std::complex<double>* w, int64_t n) {
  bool all_real = true;
  for (int64_t i = 0; i < n; ++i) all_real = all_real && w[i].imag() == 0.0;
  std::vector<float> re(static_cast<size_t>(n)), im(static_cast<size_t>(n), 0.0f);
  bool any_complex = false, all_tiny = true;
  for (int64_t i = 0; i < n; ++i) {
    re[static_cast<size_t>(i)] = static_cast<float>(w[i].real());
    if (!all_real) im[static_cast<size_t>(i)] = static_cast<float>(w[i].imag());
    any_complex = any_complex || im[static_cast<size_t>(i)] != 0.0f;
    all_tiny = all_tiny && std::abs(static_cast<double>(im[static_cast<size_t>(i)])) < 1e-10;
  }
  const bool take_real = all_real || (any_complex && all_tiny);
  std::vector<float> mag(static_cast<size_t>(n));
  for (size_t i = 0; i < mag.size(); ++i) {
    mag[i] = take_real ? std::abs(re[i])
                       : static_cast<float>(
                             std::hypot(static_cast<double>(re[i]), static_cast<double>(im[i])));
  }
  std::sort(mag.begin(), mag.end(), std::greater<float>());
  return mag;
}

void FillEigenMetrics(const std::vector<float>& s, PaperRmtMatrixResult& r) {
  r.paper_spectral_gap = s.size() >= 2 ? static_cast<double>(s[0] / s[1]) : kNaN;
  std::vector<float> sq(s.size());
  for (size_t i = 0; i < s.size(); ++i) sq[i] = s[i] * s[i];
  const auto s1 = static_cast<double>(SumF32(s));
  const auto s2 = static_cast<double>(SumF32(sq));
  r.paper_participation_ratio = s2 == 0 ? 0.0 : s1 * s1 / s2;
  const size_t top = std::min(s.size(), static_cast<size_t>(kPaperTopEigenvalues));
  r.paper_top_eigenvalue_magnitudes.assign(s.begin(), s.begin() + static_cast<ptrdiff_t>(top));
  r.paper_marchenko_pastur_kl = PaperMarchenkoPasturKl(r.paper_top_eigenvalue_magnitudes);
}

/// Step 4: Σσ²/σ0² from double singular values cast to float32.
double PaperStableRank(const double* sigma64, int64_t n) {
  std::vector<float> sq(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const auto s = static_cast<float>(sigma64[i]);
    sq[static_cast<size_t>(i)] = s * s;
  }
  const auto s0 = static_cast<double>(static_cast<float>(sigma64[0]));
  return static_cast<double>(SumF32(sq)) / (s0 * s0);
}

}  // namespace

double PaperMarchenkoPasturKl(const std::vector<double>& top_eigenvalues) {
  if (top_eigenvalues.size() < 2) return kNaN;
  const double mean = stats::NumpyPairwiseSum<double>(top_eigenvalues) /
                      static_cast<double>(top_eigenvalues.size());
  if (!(mean != 0) || !std::isfinite(mean)) return kNaN;  // numpy's histogram would raise
  std::vector<double> x(top_eigenvalues.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = top_eigenvalues[i] / mean;
  const stats::NumpyHistogram hist = stats::NumpyHistogramDensity(x, kPaperHistogramBins);
  const double g = kPaperMarchenkoPasturGamma;
  const double a = (1 - std::sqrt(g)) * (1 - std::sqrt(g));
  const double b = (1 + std::sqrt(g)) * (1 + std::sqrt(g));
  const size_t bins = hist.density.size();
  std::vector<double> q(bins, 0.0);
  for (size_t k = 0; k < bins; ++k) {
    const double c = (hist.edges[k] + hist.edges[k + 1]) / 2;
    if (c >= a && c <= b) q[k] = std::sqrt((b - c) * (c - a)) / (2 * std::numbers::pi * g * c);
  }
  // `stats.entropy(hist / hist.sum(), q / q.sum())`: normalized here, then again inside.
  const double hsum = stats::NumpyPairwiseSum<double>(hist.density);
  const double qsum = stats::NumpyPairwiseSum<double>(q);
  std::vector<double> p(bins);
  for (size_t k = 0; k < bins; ++k) {
    p[k] = hist.density[k] / hsum;
    q[k] = q[k] / qsum;
  }
  return stats::ScipyEntropy(p, q);
}

StatusOr<PaperRmtResult> ComputePaperRmt(const at::Tensor& attention,
                                         const PaperRmtOptions& options) {
  RETURN_IF_ERROR(ValidateAttention(attention));
  const int64_t n = attention.size(-1);
  const int64_t num_heads = attention.dim() == 3 ? attention.size(0) : 1;
  if (n > options.max_n) {
    return ResourceExhaustedError("paper rmt: n = {} exceeds max_n = {}", n, options.max_n);
  }
  const int64_t k = NumSelectedMatrices(num_heads, options.heads);
  if (k > options.max_elements / (n * n)) {
    return ResourceExhaustedError("paper rmt: {} matrices of {}x{} exceed max_elements = {}", k, n,
                                  n, options.max_elements);
  }
  ASSIGN_OR_RETURN(MatrixBatch batch, SelectMatrices(attention, options.heads, at::kFloat));
  const std::vector<InputHealth> health = CheckFinite(batch.matrices);

  struct Spectra {
    at::Tensor host, eigenvalues, sigma;
  };
  ASSIGN_OR_RETURN(
      Spectra spectra, TorchCall("paper rmt spectra", [&] {
        const at::Tensor finite = batch.matrices.isfinite().flatten(1).all(1).view({-1, 1, 1});
        const at::Tensor clean = at::where(finite, batch.matrices, at::zeros_like(batch.matrices));
        // float32 values, double LAPACK (numpy 1.x's eigvals/svd on float32).
        const at::Tensor wide = clean.to(at::kDouble);
        Spectra s;
        s.host = batch.matrices.cpu().contiguous();
        s.eigenvalues = at::linalg_eigvals(wide).cpu().contiguous();
        s.sigma = at::linalg_svdvals(wide).cpu().contiguous();
        return s;
      }));

  PaperRmtResult result;
  result.heads = options.heads;
  result.n = n;
  result.num_heads = num_heads;
  const auto* eig = reinterpret_cast<const std::complex<double>*>(
      spectra.eigenvalues.data_ptr<c10::complex<double>>());
  for (size_t i = 0; i < batch.heads.size(); ++i) {
    const auto ki = static_cast<int64_t>(i);
    PaperRmtMatrixResult r;
    r.head = batch.heads[i];
    r.health = health[i];
    r.valid = r.health.valid();
    if (!r.valid) {
      r.paper_sink_concentration = r.paper_entropy = r.paper_spectral_gap = kNaN;
      r.paper_participation_ratio = r.paper_stable_rank = r.paper_marchenko_pastur_kl = kNaN;
      result.matrices.push_back(std::move(r));
      continue;
    }
    const float* m = spectra.host.data_ptr<float>() + ki * n * n;
    r.paper_sink_concentration = PaperSinkConcentration(m, n);
    r.paper_entropy = PaperEntropy(m, n);
    FillEigenMetrics(PaperEigenvalueMagnitudes(eig + ki * n, n), r);
    r.paper_stable_rank = PaperStableRank(spectra.sigma.data_ptr<double>() + ki * n, n);
    result.matrices.push_back(std::move(r));
  }
  return result;
}

}  // namespace sinkscope::analyzers::rmt
