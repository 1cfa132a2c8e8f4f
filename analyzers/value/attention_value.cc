#include "analyzers/value/attention_value.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Dense>

#include "analyzers/common/left_singular.h"
#include "analyzers/common/lower_gram.h"
#include "analyzers/common/positions.h"
#include "analyzers/stats/correlation.h"
#include "analyzers/stats/descriptive.h"
#include "core/torch_call.h"

namespace sinkscope::analyzers::value {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
/// attention_value.ipynb's entropy filter: 100 · float32 machine epsilon.
constexpr double kPaperEntropyEpsilon = 100.0 * 1.1920928955078125e-07;

/// Row-major float64 copy of a tensor, with the shape.
struct Dense {
  std::vector<double> v;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t depth = 1;  ///< heads, for attention
  double at(int64_t i, int64_t j) const { return v[i * cols + j]; }
};

struct Inputs {
  Dense heads;  ///< [H, n, n]
  Dense mean;   ///< [n, n]
  Dense x;      ///< [n, d]
  Dense y;      ///< [n, d]
};

StatusOr<Inputs> Read(const at::Tensor& attention, const at::Tensor& x, const at::Tensor& y) {
  RETURN_IF_ERROR(ValidateAttention(attention));
  const int64_t n = attention.size(-1);
  for (const auto* t : {&x, &y}) {
    if (!t->defined() || t->dim() != 2 || t->size(0) != n || t->size(1) < 1 ||
        !at::isFloatingType(t->scalar_type())) {
      return InvalidArgumentError(
          "hidden states must be floating [n, d] with n = {} (the attention's), got shape {}", n,
          t->defined() ? c10::str(t->sizes()) : std::string("(none)"));
    }
  }
  if (x.size(1) != y.size(1)) {
    return InvalidArgumentError("layer input [{}, {}] and output [{}, {}] differ in width",
                                x.size(0), x.size(1), y.size(0), y.size(1));
  }
  return TorchCall("attention-value: reading tensors", [&] {
    auto dense = [](const at::Tensor& t) {
      Dense d;
      d.v = ToCpuDoubles(t);
      d.rows = t.size(-2);
      d.cols = t.size(-1);
      d.depth = t.dim() == 3 ? t.size(0) : 1;
      return d;
    };
    Inputs in;
    at::Tensor heads = attention.dim() == 2 ? attention.unsqueeze(0) : attention;
    in.heads = dense(heads);
    in.mean = dense(heads.to(at::kDouble).mean(0));
    in.x = dense(x);
    in.y = dense(y);
    return in;
  });
}

/// Non-finite counts of the layer input and output together.
InputHealth HiddenHealth(const Inputs& in) {
  InputHealth h = CountNonFinite(in.x.v);
  const InputHealth y = CountNonFinite(in.y.v);
  h.num_nan += y.num_nan;
  h.num_posinf += y.num_posinf;
  h.num_neginf += y.num_neginf;
  return h;
}

double PopulationStd(const std::vector<double>& v) {
  const double m = stats::NanMean(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return v.empty() ? kNaN : std::sqrt(ss / static_cast<double>(v.size()));
}

/// The notebook's guarded Pearson: 0 when there are < 2 values or a constant sample.
double PaperPearson(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() < 2) return 0.0;
  auto r = stats::Pearson(a, b);
  if (!r.ok() || std::isnan(r->r)) return 0.0;
  return r->r;
}

/// Pearson and Spearman (with p-values) of paired samples; the Spearman ranks are given when
/// the caller has them (`ra`, `rb` non-empty), else computed.
CorrelationValue Correlate(const std::vector<double>& a, const std::vector<double>& b,
                           const std::vector<double>& ra = {}, const std::vector<double>& rb = {}) {
  CorrelationValue c;
  c.n = static_cast<int64_t>(a.size());
  auto p = stats::Pearson(a, b);
  auto s = ra.empty() ? stats::Spearman(a, b) : stats::SpearmanFromRanks(ra, rb);
  if (!p.ok() || !s.ok() || std::isnan(p->r)) {
    c.degenerate = true;
    c.pearson = c.pearson_p = c.spearman = c.spearman_p = kNaN;
    return c;
  }
  c.pearson = p->r;
  c.pearson_p = p->p_value;
  c.spearman = s->r;
  c.spearman_p = s->p_value;
  return c;
}

/// PCA scores [n, k] of the rows of z (centred), with sklearn ≥ 1.5's sign convention: each
/// component's largest-|loading| entry (first on ties) is positive. Only U and σ are formed (the
/// scores are U·σ; LeftSingularVectors), and the loadings of the k components that fix the signs
/// are zᵀ u_c (σ_c > 0 does not change the largest entry or its sign). `gram`, when given, holds
/// z zᵀ in its lower triangle.
std::vector<std::vector<double>> PcaScores(const Dense& z, int64_t k,
                                           const Eigen::MatrixXd* gram = nullptr) {
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Map<const RowMajor> t(z.v.data(), z.rows, z.cols);
  const Eigen::MatrixXd centred = t.rowwise() - t.colwise().mean();
  // The centred Gram matrix from the uncentred one in O(n²), (I − J/n) G (I − J/n) with row
  // means g_i: G_ij − g_i − g_j + mean(g), instead of a second n×n×d rank update (measured:
  // ComputeAttentionValue 0.58 → 0.51 ms per layer at n = 48, d = 576). Its rounding is relative
  // to ‖z‖² instead of ‖z − z̄‖²: used while tr G ≤ 1e3·tr C (at most ~3 digits lost, still far
  // below the 1e-6·λ₁ gaps the Gram path requires; the benchmark capture's ratio is 1.02–1.07),
  // else the centred product is formed directly.
  Eigen::MatrixXd centred_gram;
  if (gram != nullptr) {
    const int64_t n = z.rows;
    const auto at = [&](int64_t i, int64_t j) { return i >= j ? (*gram)(i, j) : (*gram)(j, i); };
    Eigen::VectorXd row_mean(n);
    for (int64_t i = 0; i < n; ++i) {
      double sum = 0;
      for (int64_t j = 0; j < n; ++j) sum += at(i, j);
      row_mean[i] = sum / static_cast<double>(n);
    }
    const double mean = row_mean.mean();
    centred_gram = Eigen::MatrixXd::Zero(n, n);
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t i = j; i < n; ++i) {
        centred_gram(i, j) = (*gram)(i, j) - row_mean[i] - row_mean[j] + mean;
      }
    }
    if (!(gram->trace() <= 1e3 * centred_gram.trace())) centred_gram.resize(0, 0);
  }
  const LeftSingular pairs =
      centred_gram.size() > 0
          ? LeftSingularVectorsFromGram(centred_gram, centred, k, /*all_sigma=*/false,
                                        /*floor=*/1e-8)
          : LeftSingularVectors(centred, k, /*all_sigma=*/false, /*floor=*/1e-8);
  const Eigen::MatrixXd& u = pairs.u;
  const std::vector<double>& s = pairs.sigma;
  std::vector<std::vector<double>> scores(static_cast<size_t>(k));
  for (int64_t c = 0; c < k; ++c) {
    const Eigen::VectorXd loading = centred.transpose() * u.col(c);
    Eigen::Index arg = 0;
    for (Eigen::Index j = 1; j < loading.size(); ++j) {
      if (std::fabs(loading[j]) > std::fabs(loading[arg])) arg = j;
    }
    const double sign = loading[arg] < 0 ? -1.0 : 1.0;
    scores[c].resize(static_cast<size_t>(z.rows));
    for (int64_t i = 0; i < z.rows; ++i) scores[c][i] = u(i, c) * s[c] * sign;
  }
  return scores;
}

/// Pearson r per PCA component of the head-mean attention rows and of X; NaN when a score is
/// (numerically) constant (std ≤ 1e-8, the notebook's test).
/// `x_gram`, when given, holds x xᵀ in its lower triangle.
std::vector<double> PcaCorrelations(const Dense& attention, const Dense& x,
                                    const Eigen::MatrixXd* x_gram = nullptr) {
  const int64_t n = attention.rows;
  const int64_t k = std::min({int64_t{3}, n - 1, x.cols - 1});
  std::vector<double> r;
  if (n < 2 || k <= 0) return r;
  auto ta = PcaScores(attention, k);
  auto tx = PcaScores(x, k, x_gram);
  for (int64_t c = 0; c < k; ++c) {
    if (PopulationStd(ta[c]) > 1e-8 && PopulationStd(tx[c]) > 1e-8) {
      auto p = stats::Pearson(ta[c], tx[c]);
      r.push_back(p.ok() ? p->r : kNaN);
    } else {
      r.push_back(kNaN);
    }
  }
  return r;
}

Dense Sanitized(Dense d) {
  for (double& v : d.v) {
    if (!std::isfinite(v)) v = 0.0;
  }
  return d;
}

}  // namespace

// ------------------------------------------------------------------------------------- PAPER

StatusOr<PaperAttentionValueResult> ComputePaperAttentionValue(const at::Tensor& attention,
                                                               const at::Tensor& x,
                                                               const at::Tensor& y) {
  ASSIGN_OR_RETURN(Inputs in, Read(attention, x, y));
  PaperAttentionValueResult r;
  const int64_t n = in.mean.rows;
  const int64_t d = in.x.cols;
  r.num_tokens = n;
  r.attention_health = CountNonFinite(in.heads.v);
  r.hidden_health = HiddenHealth(in);

  // (a) Entropy of the head mean, entries ≤ ε dropped (NaN fails the test too).
  for (int64_t i = 0; i < n; ++i) {
    double sum = 0;
    for (int64_t j = 0; j < n; ++j) {
      const double v = in.mean.at(i, j);
      if (v > kPaperEntropyEpsilon) sum += v;
    }
    double h = 0;
    if (sum >= kPaperEntropyEpsilon) {
      for (int64_t j = 0; j < n; ++j) {
        const double v = in.mean.at(i, j);
        if (!(v > kPaperEntropyEpsilon)) continue;
        const double p = v / sum;
        if (p > kPaperEntropyEpsilon) h -= p * std::log(p);
      }
    }
    r.paper_entropy.push_back(std::isfinite(h) ? h : 0.0);
  }
  r.paper_entropy_mean = stats::NanMean(r.paper_entropy);
  r.paper_entropy_std = PopulationStd(r.paper_entropy);

  // (b) Magnitudes after the 1e3 rescale.
  const Dense xs = Sanitized(in.x);
  const Dense ys = Sanitized(in.y);
  double mu = 0;
  for (double v : xs.v) mu = std::max(mu, std::fabs(v));
  for (double v : ys.v) mu = std::max(mu, std::fabs(v));
  const double scale = mu > 1e3 ? 1e3 / mu : 1.0;
  r.paper_rescale_triggered = mu > 1e3;
  for (int64_t i = 0; i < n; ++i) {
    double ss = 0;
    for (int64_t k = 0; k < d; ++k) {
      const double diff = std::clamp(ys.at(i, k) * scale - xs.at(i, k) * scale, -1e3, 1e3);
      ss += diff * diff;
    }
    r.paper_magnitude.push_back(std::clamp(std::sqrt(ss), 0.0, 1e6));
  }
  r.paper_magnitude_mean = stats::NanMean(r.paper_magnitude);
  r.paper_magnitude_std = PopulationStd(r.paper_magnitude);

  // (c) Cosine similarity of the layer inputs (the rescale cancels).
  std::vector<double> norm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double ss = 0;
    for (int64_t k = 0; k < d; ++k) ss += xs.at(i, k) * xs.at(i, k) * scale * scale;
    norm[i] = std::sqrt(std::max(1e-10, ss));
  }
  // (d) r_GS over every ordered off-diagonal pair, row-major.
  std::vector<double> a_off, s_off;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      if (i == j) continue;
      double s = 0;
      if (norm[i] >= 1e-8 && norm[j] >= 1e-8) {
        double dot = 0;
        for (int64_t k = 0; k < d; ++k) dot += xs.at(i, k) * scale * xs.at(j, k) * scale;
        s = std::clamp(dot / (norm[i] * norm[j]), -1.0, 1.0);
      }
      a_off.push_back(std::isfinite(in.mean.at(i, j)) ? in.mean.at(i, j) : 0.0);
      s_off.push_back(s);
    }
  }
  r.paper_geometric_semantic_correlation = PaperPearson(a_off, s_off);
  // (e) r_EM over tokens.
  r.paper_entropy_magnitude_correlation = PaperPearson(r.paper_entropy, r.paper_magnitude);
  // (f) PCA component correlations (the rescales do not change correlations).
  r.paper_pca_k = std::min({int64_t{3}, n - 1, d - 1});
  if (n >= 2 && r.paper_pca_k > 0) {
    ASSIGN_OR_RETURN(std::vector<double> rc, TorchCall("attention-value: PCA", [&] {
                       return PcaCorrelations(Sanitized(in.mean), xs);
                     }));
    double sum = 0;
    int64_t count = 0;
    for (double v : rc) {
      if (!std::isfinite(v)) continue;
      r.paper_pca_abs_correlations.push_back(std::fabs(v));
      sum += v;
      ++count;
    }
    r.paper_pca_average_correlation = count > 0 ? sum / static_cast<double>(count) : 0.0;
  } else {
    r.paper_pca_k = std::max<int64_t>(r.paper_pca_k, 0);
  }
  return r;
}

// --------------------------------------------------------------------------------- CORRECTED

StatusOr<AttentionValueResult> ComputeAttentionValue(const at::Tensor& attention,
                                                     const at::Tensor& x, const at::Tensor& y,
                                                     const AttentionValueOptions& options) {
  ASSIGN_OR_RETURN(Inputs in, Read(attention, x, y));
  AttentionValueResult r;
  const int64_t n = in.mean.rows;
  const int64_t d = in.x.cols;
  const int64_t heads = in.heads.depth;
  r.num_tokens = n;
  r.num_heads = heads;
  std::vector<bool> is_sink(static_cast<size_t>(n), false);
  for (int64_t p : options.sink_positions) {
    if (p < 0 || p >= n) {
      return InvalidArgumentError("sink position {} is outside [0, {})", p, n);
    }
    is_sink[p] = true;
  }
  r.attention_health = CountNonFinite(in.heads.v);
  r.hidden_health = HiddenHealth(in);
  r.valid = r.attention_health.valid() && r.hidden_health.valid();
  r.causal = options.detect_causal ? IsCausal(in.heads.v, in.heads.cols) : options.causal;
  const int64_t first_row = r.causal ? 1 : 0;
  r.num_rows = n - first_row;
  auto last_key = [&](int64_t i) { return r.causal ? i : n - 1; };
  if (!r.valid) {
    r.entropy_mean = r.normalized_entropy_mean = r.magnitude_mean = kNaN;
    r.magnitude_mean_without_sinks = r.relative_update_mean = kNaN;
    r.relative_update_mean_without_sinks = r.gs_per_head_mean = kNaN;
    for (auto* c : {&r.gs_allowed_pairs, &r.gs_without_sinks, &r.entropy_magnitude}) {
      c->degenerate = true;
      c->pearson = c->pearson_p = c->spearman = c->spearman_p = kNaN;
    }
    return r;
  }

  // Entropy over allowed keys, 0 ln 0 = 0.
  auto row_entropy = [&](const double* m, int64_t i) {
    double sum = 0;
    for (int64_t j = 0; j <= last_key(i); ++j) sum += m[i * n + j];
    double h = 0;
    for (int64_t j = 0; j <= last_key(i); ++j) {
      const double p = sum > 0 ? m[i * n + j] / sum : 0.0;
      if (p > 0) h -= p * std::log(p);
    }
    return h;
  };
  std::vector<double> normalized;
  for (int64_t i = first_row; i < n; ++i) {
    const double h = row_entropy(in.mean.v.data(), i);
    r.entropy.push_back(h);
    const int64_t allowed = last_key(i) + 1;
    if (allowed > 1) normalized.push_back(h / std::log(static_cast<double>(allowed)));
  }
  r.entropy_mean = stats::NanMean(r.entropy);
  r.normalized_entropy_mean = stats::NanMean(normalized);
  for (int64_t h = 0; h < heads; ++h) {
    std::vector<double> e;
    for (int64_t i = first_row; i < n; ++i) e.push_back(row_entropy(&in.heads.v[h * n * n], i));
    r.head_entropy_mean.push_back(stats::NanMean(e));
  }

  // Magnitudes and relative updates, no rescale.
  std::vector<double> x_norm(static_cast<size_t>(n));
  std::vector<double> mag_rest, rel_rest;
  for (int64_t i = 0; i < n; ++i) {
    // Eigen's packet reductions (a scalar loop here kept its sum in memory: ~0.1 ms per layer).
    const Eigen::Map<const Eigen::VectorXd> xi(&in.x.v[i * d], d), yi(&in.y.v[i * d], d);
    const double ss = (yi - xi).squaredNorm();
    const double xx = xi.squaredNorm();
    x_norm[i] = std::sqrt(xx);
    r.magnitude.push_back(std::sqrt(ss));
    r.relative_update.push_back(x_norm[i] > 0 ? std::sqrt(ss) / x_norm[i] : kNaN);
    if (!is_sink[i]) {
      mag_rest.push_back(r.magnitude.back());
      rel_rest.push_back(r.relative_update.back());
    }
  }
  r.magnitude_mean = stats::NanMean(r.magnitude);
  r.magnitude_mean_without_sinks = stats::NanMean(mag_rest);
  r.relative_update_mean = stats::NanMean(r.relative_update);
  r.relative_update_mean_without_sinks = stats::NanMean(rel_rest);

  // Geometric–semantic alignment over allowed pairs (pairs with a zero-norm token have no cosine
  // and are left out).
  // The dot products of every unordered pair, once: the lower triangle of X Xᵀ by LowerGram's
  // register-tiled AVX2 kernel (a plain triple loop over the triangle cost ~0.35 ms per layer at
  // n = 48, d = 576; against Eigen's symmetric rank update, built for the x86-64 baseline here,
  // ComputeAttentionValue 0.451 → 0.393 ms per layer).
  Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(n, n);
  LowerGram(in.x.v.data(), n, d, gram.data());
  auto dot = [&](int64_t i, int64_t j) { return i > j ? gram(i, j) : gram(j, i); };
  const size_t max_pairs = static_cast<size_t>(n * n);
  std::vector<double> a_all, s_all, a_rest, s_rest;
  std::vector<bool> keep;  // per allowed pair: its key is not a sink
  a_all.reserve(max_pairs);
  s_all.reserve(max_pairs);
  a_rest.reserve(max_pairs);
  s_rest.reserve(max_pairs);
  std::vector<int64_t> pair_at;  // per allowed pair: i·n + j, where each head's sample is read
  pair_at.reserve(max_pairs);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const bool allowed = r.causal ? j < i : j != i;
      if (!allowed || x_norm[i] == 0 || x_norm[j] == 0) continue;
      const double s = dot(i, j) / (x_norm[i] * x_norm[j]);
      a_all.push_back(in.mean.at(i, j));
      s_all.push_back(s);
      pair_at.push_back(i * n + j);
      keep.push_back(!is_sink[j]);
      if (!is_sink[j]) {
        a_rest.push_back(in.mean.at(i, j));
        s_rest.push_back(s);
      }
    }
  }
  // Both samples are sorted once: the pairs without sinks are a subsample of the allowed pairs,
  // so their order is the allowed pairs' order with the sink pairs skipped. (A NaN cosine, from
  // norms overflowing, takes Spearman's own NaN handling instead.)
  auto has_nan = [](const std::vector<double>& v) {
    return std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); });
  };
  if (has_nan(a_all) || has_nan(s_all)) {
    r.gs_allowed_pairs = Correlate(a_all, s_all);
    r.gs_without_sinks = Correlate(a_rest, s_rest);
  } else {
    auto subsample_ranks = [&](const std::vector<double>& rest, const std::vector<size_t>& order) {
      std::vector<size_t> index(keep.size()), sub;
      size_t next = 0;
      for (size_t p = 0; p < keep.size(); ++p) index[p] = keep[p] ? next++ : 0;
      sub.reserve(rest.size());
      for (size_t p : order) {
        if (keep[p]) sub.push_back(index[p]);
      }
      return stats::AverageRanksInOrder(rest, sub);
    };
    const std::vector<size_t> order_a = stats::AscendingOrder(a_all);
    const std::vector<size_t> order_s = stats::AscendingOrder(s_all);
    r.gs_allowed_pairs = Correlate(a_all, s_all, stats::AverageRanksInOrder(a_all, order_a),
                                   stats::AverageRanksInOrder(s_all, order_s));
    r.gs_without_sinks = Correlate(a_rest, s_rest, subsample_ranks(a_rest, order_a),
                                   subsample_ranks(s_rest, order_s));
  }
  // Per head only r enters the mean: no p-value, no Spearman. Every head is correlated with the
  // same cosines, so they are centred once (stats::CentreToUnit) and each head's sample is
  // gathered at the allowed pairs into one buffer and centred there, instead of one vector per
  // head filled by a push_back per pair and centred anew with the cosines for every head. A head
  // is degenerate exactly when PearsonCoefficient's r would be NaN or an error: fewer than 2
  // pairs, a NaN cosine, or a constant sample (the attention is finite here: r.valid). Measured
  // (bench/layer_metrics, one thread): ComputeAttentionValue 0.498 → 0.458 ms per layer.
  std::vector<double> per_head;
  std::vector<double> s_unit(s_all.size()), a_unit(s_all.size());
  const bool cosines_centred = stats::CentreToUnit(s_all, s_unit);
  for (int64_t h = 0; h < heads; ++h) {
    const double* a = &in.heads.v[h * n * n];
    for (size_t p = 0; p < pair_at.size(); ++p) a_unit[p] = a[pair_at[p]];
    if (cosines_centred && stats::CentreToUnit(a_unit, a_unit)) {
      per_head.push_back(stats::PearsonFromUnit(a_unit, s_unit));
    } else {
      ++r.num_degenerate_heads;
    }
  }
  r.gs_per_head_mean = stats::NanMean(per_head);

  std::vector<double> used_magnitude(r.magnitude.begin() + first_row, r.magnitude.end());
  r.entropy_magnitude = Correlate(r.entropy, used_magnitude);
  ASSIGN_OR_RETURN(std::vector<double> rc, TorchCall("attention-value: PCA", [&] {
                     return PcaCorrelations(in.mean, in.x, &gram);
                   }));
  for (double v : rc) r.pca_abs_correlations.push_back(std::fabs(v));
  return r;
}

}  // namespace sinkscope::analyzers::value
