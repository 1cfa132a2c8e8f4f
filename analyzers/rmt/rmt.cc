#include "analyzers/rmt/rmt.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <span>

#include <Eigen/Dense>

#include "analyzers/common/positions.h"
#include "analyzers/common/small_singular_values.h"
#include "analyzers/common/small_symmetric_eigen.h"
#include "core/torch_call.h"

namespace sinkscope::analyzers::rmt {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Status ValidateOptions(const RmtOptions& o) {
  if (o.aspect_ratio && (!std::isfinite(*o.aspect_ratio) || *o.aspect_ratio <= 0)) {
    return InvalidArgumentError("aspect_ratio must be finite and > 0, got {}", *o.aspect_ratio);
  }
  if (o.mp_variance && (!std::isfinite(*o.mp_variance) || *o.mp_variance <= 0)) {
    return InvalidArgumentError("mp_variance must be finite and > 0, got {}", *o.mp_variance);
  }
  if (o.mp_bins < 1) return InvalidArgumentError("mp_bins must be >= 1, got {}", o.mp_bins);
  if (!std::isfinite(o.kl_epsilon) || o.kl_epsilon < 0) {
    return InvalidArgumentError("kl_epsilon must be finite and >= 0, got {}", o.kl_epsilon);
  }
  if (!(o.sink_top_fraction > 0 && o.sink_top_fraction <= 1)) {
    return InvalidArgumentError("sink_top_fraction must be in (0, 1], got {}", o.sink_top_fraction);
  }
  return OkStatus();
}

/// k = max(1, ⌈fraction·n⌉); the product is nudged down by a relative 1e-12 so that an integral
/// fraction·n (0.1·30 = 3.0000000000000004 in double) is not rounded up to the next integer.
int64_t TopK(double fraction, int64_t n) {
  const auto k = static_cast<int64_t>(std::ceil(fraction * static_cast<double>(n) * (1 - 1e-12)));
  return std::clamp<int64_t>(k, 1, n);
}

/// Singular-value statistics (σ descending).
void SingularValueMetrics(std::span<const double> sigma, RmtMatrixResult& r) {
  r.singular_values.assign(sigma.begin(), sigma.end());
  double s2 = 0, s4 = 0;
  for (double s : sigma) {
    s2 += s * s;
    s4 += s * s * s * s;
  }
  const double s1 = sigma[0];
  // n = 1: no σ2, so both gaps are undefined (NaN). σ2 = 0 < σ1 gives +∞ (IEEE x/0).
  r.spectral_gap_ratio = sigma.size() >= 2 ? s1 / sigma[1] : kNaN;
  r.singular_gap_difference = sigma.size() >= 2 ? s1 - sigma[1] : kNaN;
  r.participation_ratio = s2 * s2 / s4;  // 0/0 = NaN for a zero matrix
  r.stable_rank = s2 / (s1 * s1);
}

/// Sink concentration (top-k columns, ties to the lower index) and mean row entropy in bits.
void ColumnAndRowMetrics(const double* m, int64_t n, double top_fraction, RmtMatrixResult& r) {
  std::vector<double> col(static_cast<size_t>(n), 0.0);
  double entropy_sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    double h = 0;
    for (int64_t j = 0; j < n; ++j) {
      const double v = m[i * n + j];
      col[static_cast<size_t>(j)] += v;
      if (v != 0) h -= v * std::log2(v);  // 0·log 0 = 0; a negative entry gives NaN
    }
    entropy_sum += h;
  }
  r.mean_row_entropy_bits = entropy_sum / static_cast<double>(n);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
    return col[static_cast<size_t>(x)] > col[static_cast<size_t>(y)];
  });
  const double total = std::accumulate(col.begin(), col.end(), 0.0);
  r.sink_top_k = TopK(top_fraction, n);
  double top = 0;
  for (int64_t k = 0; k < r.sink_top_k; ++k) top += col[static_cast<size_t>(order[k])];
  r.sink_concentration = top / total;  // 0/0 = NaN for a zero matrix
  r.sink_top_column = order[0];
  r.sink_top_column_share = col[static_cast<size_t>(order[0])] / total;
}

void MarkInvalid(RmtMatrixResult& r) {
  r.spectral_gap_ratio = r.singular_gap_difference = r.participation_ratio = r.stable_rank = kNaN;
  r.sink_concentration = r.sink_top_column_share = r.mean_row_entropy_bits = kNaN;
  r.standardize_mean = r.standardize_std = kNaN;
  r.mp.kl = r.mp.ks = r.mp.w1 = kNaN;
  r.mp.variance = r.mp.lower_edge = r.mp.upper_edge = kNaN;
}

/// Batched spectra: σ of M [K, n] and the eigenvalues of (1/m) Z Zᵀ [K, n], plus per-matrix
/// causal flags, unmasked counts, μ and s (all on the host).
struct BatchSpectra {
  at::Tensor sigma, mp_eigenvalues, causal, count, mean, std;
};

BatchSpectra ComputeSpectra(const at::Tensor& clean, CausalMask rule) {
  const int64_t n = clean.size(-1);
  const auto opts = clean.options();
  BatchSpectra out;
  out.sigma = at::linalg_svdvals(clean);

  at::Tensor causal;
  if (rule == CausalMask::kCausal) {
    causal = at::ones({clean.size(0)}, opts.dtype(at::kBool));
  } else if (rule == CausalMask::kDense || n < 2) {
    causal = at::zeros({clean.size(0)}, opts.dtype(at::kBool));
  } else {
    causal = clean.triu(1).abs().amax({1, 2}).eq(0);
  }
  const at::Tensor tril = at::ones({n, n}, opts).tril();
  const at::Tensor full = at::ones({n, n}, opts);
  // [K, n, n] mask of the entries entering μ and s.
  const at::Tensor mask = at::where(causal.view({-1, 1, 1}), tril, full);
  const at::Tensor count = mask.sum({1, 2});
  // Shifted two-pass moments: subtracting M_00 (always unmasked) first makes a constant matrix
  // give exactly s = 0 instead of round-off noise.
  const at::Tensor shifted = (clean - clean.select(1, 0).select(1, 0).view({-1, 1, 1})) * mask;
  const at::Tensor shifted_mean = shifted.sum({1, 2}) / count;
  const at::Tensor centred = (shifted - shifted_mean.view({-1, 1, 1})) * mask;
  const at::Tensor var = centred.square().sum({1, 2}) / count;
  const at::Tensor std = var.sqrt();
  const at::Tensor safe_std = at::where(std.gt(0), std, at::ones_like(std));
  const at::Tensor z = centred / safe_std.view({-1, 1, 1});
  const at::Tensor w = at::matmul(z, z.transpose(1, 2)) / static_cast<double>(n);
  out.mp_eigenvalues = at::linalg_eigvalsh(w);

  out.sigma = out.sigma.cpu().contiguous();
  out.mp_eigenvalues = out.mp_eigenvalues.cpu().contiguous();
  out.causal = causal.cpu().contiguous();
  out.count = count.cpu().contiguous();
  out.mean = (shifted_mean + clean.select(1, 0).select(1, 0)).cpu().contiguous();
  out.std = std.cpu().contiguous();
  return out;
}

/// ComputeSpectra for matrices on the CPU: the same quantities, with the masking and the
/// standardization in one plain pass per matrix instead of a dozen ATen ops over the batch, and
/// the eigenvalues of (1/m) Z Zᵀ from SymmetricEigenvalues (batched tridiagonalization +
/// root-free QL), σ from SquareSingularValues (bidiagonalization 4 at a time + interleaved dqds:
/// 0.33 ms for a layer's 10 matrices in bench/layer_metrics' breakdown, copies included, against
/// 70–88 µs per matrix for at::linalg_svdvals; docs/rmt.md). `host` is
/// [K, n, n] float64, contiguous; non-finite matrices (`finite` false) are treated as zero, as in
/// ComputeSpectra.
BatchSpectra ComputeSpectraOnHost(const at::Tensor& host, const std::vector<bool>& finite,
                                  CausalMask rule) {
  const int64_t k = host.size(0);
  const int64_t n = host.size(-1);
  const auto opts = host.options();
  at::Tensor clean = host;
  if (std::find(finite.begin(), finite.end(), false) != finite.end()) {
    clean = host.clone();
    for (int64_t i = 0; i < k; ++i) {
      if (!finite[static_cast<size_t>(i)]) clean[i].zero_();
    }
  }
  BatchSpectra out;
  out.sigma = at::empty({k, n}, opts);
  SquareSingularValues(
      std::span<const double>(clean.data_ptr<double>(), static_cast<size_t>(k * n * n)), n,
      std::span<double>(out.sigma.data_ptr<double>(), static_cast<size_t>(k * n)));
  out.mp_eigenvalues = at::empty({k, n}, opts);
  out.causal = at::empty({k}, opts.dtype(at::kBool));
  out.count = at::empty({k}, opts);
  out.mean = at::empty({k}, opts);
  out.std = at::empty({k}, opts);
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  RowMajor z(n, n);
  // Every (1/m) Z Zᵀ, then their eigenvalues in one batched call (tridiagonalization 4 at a time
  // and root-free QL, analyzers/common/small_symmetric_eigen.h).
  const auto nn = static_cast<size_t>(n * n);
  std::vector<double> w_all(static_cast<size_t>(k) * nn);
  for (int64_t i = 0; i < k; ++i) {
    const double* m = clean.data_ptr<double>() + i * n * n;
    bool causal = rule == CausalMask::kCausal;
    if (rule == CausalMask::kAuto && n >= 2) {
      causal = true;
      for (int64_t r = 0; r < n && causal; ++r) {
        for (int64_t c = r + 1; c < n; ++c) {
          if (m[r * n + c] != 0) {
            causal = false;
            break;
          }
        }
      }
    }
    auto last = [&](int64_t r) { return causal ? r : n - 1; };  // last unmasked column of row r
    // Shifted two-pass moments over the unmasked entries: subtracting M_00 (always unmasked)
    // first makes a constant matrix give exactly s = 0 instead of round-off noise.
    const double m00 = m[0];
    const double count = causal ? static_cast<double>(n * (n + 1) / 2) : static_cast<double>(n * n);
    double sum = 0;
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t c = 0; c <= last(r); ++c) sum += m[r * n + c] - m00;
    }
    const double shifted_mean = sum / count;
    double ss = 0;
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t c = 0; c <= last(r); ++c) {
        const double d = (m[r * n + c] - m00) - shifted_mean;
        ss += d * d;
      }
    }
    const double sd = std::sqrt(ss / count);
    const double inv_scale = 1.0 / (sd > 0 ? sd : 1.0);
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t c = 0; c < n; ++c) {
        z(r, c) = c <= last(r) ? ((m[r * n + c] - m00) - shifted_mean) * inv_scale : 0.0;
      }
    }
    // Only the triangle the eigensolver reads (the row-major lower one, i.e. the column-major
    // upper triangle of this map), as one symmetric rank update: half the multiply-adds.
    Eigen::Map<Eigen::MatrixXd> w(w_all.data() + static_cast<size_t>(i) * nn, n, n);
    w.setZero();
    w.selfadjointView<Eigen::Upper>().rankUpdate(z, 1.0 / static_cast<double>(n));
    out.causal.data_ptr<bool>()[i] = causal;
    out.count.data_ptr<double>()[i] = count;
    out.mean.data_ptr<double>()[i] = shifted_mean + m00;
    out.std.data_ptr<double>()[i] = sd;
  }
  SymmetricEigenvalues(
      w_all, n,
      std::span<double>(out.mp_eigenvalues.data_ptr<double>(), static_cast<size_t>(k * n)));
  return out;
}

}  // namespace

StatusOr<CausalMask> ParseCausalMask(std::string_view name) {
  if (name == "auto") return CausalMask::kAuto;
  if (name == "causal") return CausalMask::kCausal;
  if (name == "dense") return CausalMask::kDense;
  return InvalidArgumentError("unknown causal_mask '{}' (auto, causal or dense)", name);
}

std::string_view CausalMaskName(CausalMask mask) {
  switch (mask) {
    case CausalMask::kAuto:
      return "auto";
    case CausalMask::kCausal:
      return "causal";
    case CausalMask::kDense:
      return "dense";
  }
  return "auto";
}

StatusOr<RmtResult> ComputeRmt(const at::Tensor& attention, const RmtOptions& options) {
  RETURN_IF_ERROR(ValidateOptions(options));
  RETURN_IF_ERROR(ValidateAttention(attention));
  const int64_t n = attention.size(-1);
  const int64_t num_heads = attention.dim() == 3 ? attention.size(0) : 1;
  if (n > options.max_n) {
    return ResourceExhaustedError("rmt: n = {} exceeds max_n = {}", n, options.max_n);
  }
  const int64_t k = NumSelectedMatrices(num_heads, options.heads);
  if (k > options.max_elements / (n * n)) {
    return ResourceExhaustedError("rmt: {} matrices of {}x{} exceed max_elements = {}", k, n, n,
                                  options.max_elements);
  }
  ASSIGN_OR_RETURN(MatrixBatch batch, SelectMatrices(attention, options.heads, at::kDouble));

  RmtResult result;
  result.heads = options.heads;
  result.n = n;
  result.num_heads = num_heads;
  result.aspect_ratio = options.aspect_ratio.value_or(1.0);  // n/m of the square Z
  result.causal_mask = options.causal_mask;
  result.mp_bins = options.mp_bins;
  result.kl_epsilon = options.kl_epsilon;
  result.sink_top_fraction = options.sink_top_fraction;

  const at::Tensor host = batch.matrices.cpu().contiguous();
  std::vector<InputHealth> health;
  std::vector<bool> finite;
  for (int64_t i = 0; i < host.size(0); ++i) {
    health.push_back(CountNonFinite(
        std::span<const double>(host.data_ptr<double>() + i * n * n, static_cast<size_t>(n * n))));
    finite.push_back(health.back().valid());
  }
  ASSIGN_OR_RETURN(
      BatchSpectra spectra, TorchCall("rmt spectra", [&] {
        if (batch.matrices.device().is_cpu()) {
          return ComputeSpectraOnHost(host, finite, options.causal_mask);
        }
        // Non-finite matrices are zeroed so LAPACK sees finite input; their
        // results are overwritten with NaN below.
        const at::Tensor ok = batch.matrices.isfinite().flatten(1).all(1).view({-1, 1, 1});
        const at::Tensor clean = at::where(ok, batch.matrices, at::zeros_like(batch.matrices));
        return ComputeSpectra(clean, options.causal_mask);
      }));

  MarchenkoPasturCompareOptions mp_options;
  mp_options.gamma = result.aspect_ratio;
  mp_options.variance = options.mp_variance;
  mp_options.bins = options.mp_bins;
  mp_options.epsilon = options.kl_epsilon;

  for (size_t i = 0; i < batch.heads.size(); ++i) {
    const auto ki = static_cast<int64_t>(i);
    RmtMatrixResult r;
    r.head = batch.heads[i];
    r.health = health[i];
    r.valid = r.health.valid();
    r.mp.gamma = mp_options.gamma;
    r.mp.bins = mp_options.bins;
    if (!r.valid) {
      MarkInvalid(r);
      result.matrices.push_back(std::move(r));
      continue;
    }
    const double* sigma = spectra.sigma.data_ptr<double>() + ki * n;
    SingularValueMetrics(std::span<const double>(sigma, static_cast<size_t>(n)), r);
    ColumnAndRowMetrics(host.data_ptr<double>() + ki * n * n, n, options.sink_top_fraction, r);

    r.causal = spectra.causal.data_ptr<bool>()[ki];
    r.num_unmasked = static_cast<int64_t>(spectra.count.data_ptr<double>()[ki]);
    r.standardize_mean = spectra.mean.data_ptr<double>()[ki];
    r.standardize_std = spectra.std.data_ptr<double>()[ki];
    const double* eig = spectra.mp_eigenvalues.data_ptr<double>() + ki * n;
    r.mp_eigenvalues.assign(eig, eig + n);
    if (r.standardize_std > 0) {
      ASSIGN_OR_RETURN(r.mp, CompareWithMarchenkoPastur(r.mp_eigenvalues, mp_options));
    } else {
      // Constant over the unmasked entries (always for n = 1): Z = 0, nothing to compare.
      r.mp.kl = r.mp.ks = r.mp.w1 = kNaN;
      r.mp.variance = r.mp.lower_edge = r.mp.upper_edge = kNaN;
      r.mp.variance_fitted = !options.mp_variance.has_value();
    }
    result.matrices.push_back(std::move(r));
  }
  return result;
}

}  // namespace sinkscope::analyzers::rmt
