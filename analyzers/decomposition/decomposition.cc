#include "analyzers/decomposition/decomposition.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <Eigen/Dense>

#include "analyzers/common/left_singular.h"
#include "analyzers/common/positions.h"
#include "core/torch_call.h"

namespace sinkscope::analyzers::decomposition {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// [rows, d] as row-major float64 values on the CPU.
struct Rows {
  std::vector<double> v;
  int64_t rows = 0;
  int64_t d = 0;
  const double* row(int64_t i) const { return v.data() + i * d; }
};

StatusOr<Rows> ReadRows(const at::Tensor& t, const char* what) {
  if (!t.defined() || t.dim() != 2 || t.size(0) < 1 || t.size(1) < 1 ||
      !at::isFloatingType(t.scalar_type())) {
    return InvalidArgumentError("{} must be a non-empty floating [rows, d] tensor, got shape {}",
                                what, t.defined() ? c10::str(t.sizes()) : std::string("(none)"));
  }
  return TorchCall(what, [&] {
    Rows r;
    r.rows = t.size(0);
    r.d = t.size(1);
    r.v = ToCpuDoubles(t);
    return r;
  });
}

double Dot(const double* a, const double* b, int64_t d) {
  // Eigen's packet reduction (several partial sums) rather than one scalar chain.
  return Eigen::Map<const Eigen::VectorXd>(a, d).dot(Eigen::Map<const Eigen::VectorXd>(b, d));
}

double Norm(const double* a, int64_t d) {
  return std::sqrt(Dot(a, a, d));
}

/// σ (all min(rows, d)) and the first `rank` right singular vectors [rank, d] of x (centred
/// over the rows when `center`). A wide x (d > rows, the usual few-samples case) takes σ and U from
/// LeftSingularVectors (a rows×rows problem; every σ checked on the Gram path) and
/// v_c = xᵀ u_c / σ_c; when σ_c of a wanted direction is tiny against σ_1 (that quotient would lose
/// accuracy), or x is not wide, the full SVD.
std::pair<at::Tensor, at::Tensor> SingularValuesAndDirections(const Rows& x, bool center,
                                                              int64_t rank) {
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Map<const RowMajor> raw(x.v.data(), x.rows, x.d);
  const Eigen::MatrixXd m =
      center ? Eigen::MatrixXd(raw.rowwise() - raw.colwise().mean()) : Eigen::MatrixXd(raw);
  auto full = [&] {
    // Column-major storage: strides (1, rows).
    at::Tensor t =
        at::from_blob(const_cast<double*>(m.data()), {x.rows, x.d}, {1, x.rows}, at::kDouble);
    auto [u, sigma, vt] = at::linalg_svd(t, /*full_matrices=*/false);
    return std::make_pair(sigma.contiguous(), vt.narrow(0, 0, rank).contiguous());
  };
  if (x.d <= x.rows) return full();
  const LeftSingular pairs = LeftSingularVectors(m, rank, /*all_sigma=*/true, /*floor=*/1e-6);
  const std::vector<double>& sv = pairs.sigma;
  if (!(sv[rank - 1] > sv[0] * 1e-6)) return full();
  at::Tensor sigma =
      at::from_blob(const_cast<double*>(sv.data()), {static_cast<int64_t>(sv.size())}, at::kDouble)
          .clone();
  at::Tensor directions = at::empty({rank, x.d}, at::kDouble);
  Eigen::Map<RowMajor> dirs(directions.data_ptr<double>(), rank, x.d);
  for (int64_t c = 0; c < rank; ++c) {
    dirs.row(c) = (m.transpose() * pairs.u.col(c)).transpose() / sv[c];
  }
  return std::make_pair(sigma, directions);
}

}  // namespace

StatusOr<VectorSpread> ComputeVectorSpread(const at::Tensor& vectors) {
  ASSIGN_OR_RETURN(Rows x, ReadRows(vectors, "vectors"));
  VectorSpread s;
  s.num_samples = x.rows;
  s.dim = x.d;
  s.health = CountNonFinite(x.v);
  s.valid = s.health.valid();
  if (!s.valid) {
    s.mean_norm = s.norm_of_mean = s.spread = s.max_abs_of_mean = kNaN;
    return s;
  }
  std::vector<double> mean(static_cast<size_t>(x.d), 0.0);
  for (int64_t i = 0; i < x.rows; ++i) {
    s.mean_norm += Norm(x.row(i), x.d) / static_cast<double>(x.rows);
    for (int64_t k = 0; k < x.d; ++k) mean[k] += x.row(i)[k];
  }
  for (double& v : mean) v /= static_cast<double>(x.rows);  // sum, then divide, as numpy's mean
  s.norm_of_mean = Norm(mean.data(), x.d);
  double dispersion = 0;
  std::vector<double> diff(static_cast<size_t>(x.d));
  for (int64_t i = 0; i < x.rows; ++i) {
    for (int64_t k = 0; k < x.d; ++k) diff[k] = x.row(i)[k] - mean[k];
    dispersion += Norm(diff.data(), x.d) / static_cast<double>(x.rows);
  }
  s.spread = s.norm_of_mean > 0 ? dispersion / s.norm_of_mean : kNaN;
  std::vector<int64_t> order(static_cast<size_t>(x.d));
  std::iota(order.begin(), order.end(), int64_t{0});
  const size_t top = std::min<size_t>(3, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<int64_t>(top), order.end(),
                    [&](int64_t a, int64_t b) {
                      const double fa = std::fabs(mean[a]), fb = std::fabs(mean[b]);
                      return fa != fb ? fa > fb : a < b;
                    });
  for (size_t i = 0; i < top; ++i) {
    s.top_dims.push_back(order[i]);
    s.top_values.push_back(mean[order[i]]);
  }
  s.max_abs_of_mean = top > 0 ? std::fabs(mean[order[0]]) : 0.0;
  return s;
}

StatusOr<OutputDecomposition> DecomposeOutput(const at::Tensor& residual,
                                              const at::Tensor& attention, const at::Tensor& mlp,
                                              const at::Tensor& output,
                                              const std::vector<int64_t>& tokens) {
  ASSIGN_OR_RETURN(Rows r, ReadRows(residual, "residual (hidden_in)"));
  ASSIGN_OR_RETURN(Rows a, ReadRows(attention, "attention output (attn_out)"));
  ASSIGN_OR_RETURN(Rows m, ReadRows(mlp, "MLP output (mlp_out)"));
  ASSIGN_OR_RETURN(Rows y, ReadRows(output, "layer output (hidden_out)"));
  for (const Rows* p : {&a, &m, &y}) {
    if (p->rows != r.rows || p->d != r.d) {
      return InvalidArgumentError(
          "the four parts must have one shape: residual is [{}, {}], got "
          "[{}, {}]",
          r.rows, r.d, p->rows, p->d);
    }
  }
  std::vector<int64_t> selected = tokens;
  if (selected.empty()) {
    selected.resize(static_cast<size_t>(r.rows));
    std::iota(selected.begin(), selected.end(), int64_t{0});
  }
  for (int64_t t : selected) {
    if (t < 0 || t >= r.rows) {
      return InvalidArgumentError("token {} is outside [0, {})", t, r.rows);
    }
  }
  OutputDecomposition out;
  for (const Rows* p : {&r, &a, &m, &y}) {
    const InputHealth h = CountNonFinite(p->v);
    out.health.num_nan += h.num_nan;
    out.health.num_posinf += h.num_posinf;
    out.health.num_neginf += h.num_neginf;
  }
  out.valid = out.health.valid();
  for (int64_t t : selected) {
    TokenDecomposition d;
    d.token = t;
    if (!out.valid) {
      d.output_norm = d.residual_norm = d.attention_norm = d.mlp_norm = kNaN;
      d.residual_cosine = d.attention_cosine = d.mlp_cosine = d.sum_relative_error = kNaN;
      out.tokens.push_back(d);
      continue;
    }
    // Eight reductions over one token's four rows (L1-resident), each through Eigen's packet
    // kernel: one scalar loop carrying all eight sums did not vectorize.
    using Row = Eigen::Map<const Eigen::VectorXd>;
    const Row yt(y.row(t), r.d), rt(r.row(t), r.d), at(a.row(t), r.d), mt(m.row(t), r.d);
    const double yy = yt.squaredNorm(), rr = rt.squaredNorm(), aa = at.squaredNorm();
    const double mm = mt.squaredNorm(), ry = rt.dot(yt), ay = at.dot(yt), my = mt.dot(yt);
    const double ee = (yt - (rt + at + mt)).squaredNorm();
    d.output_norm = std::sqrt(yy);
    d.residual_norm = std::sqrt(rr);
    d.attention_norm = std::sqrt(aa);
    d.mlp_norm = std::sqrt(mm);
    auto cosine = [](double dot, double na, double nb) {
      return na > 0 && nb > 0 ? dot / (na * nb) : kNaN;
    };
    d.residual_cosine = cosine(ry, d.residual_norm, d.output_norm);
    d.attention_cosine = cosine(ay, d.attention_norm, d.output_norm);
    d.mlp_cosine = cosine(my, d.mlp_norm, d.output_norm);
    d.sum_relative_error = d.output_norm > 0 ? std::sqrt(ee) / d.output_norm : kNaN;
    out.tokens.push_back(d);
  }
  return out;
}

StatusOr<MlpSubspace> ComputeMlpSubspace(const at::Tensor& outputs, const at::Tensor& others,
                                         const SubspaceOptions& options) {
  if (options.rank < 1) return InvalidArgumentError("rank must be ≥ 1, got {}", options.rank);
  ASSIGN_OR_RETURN(Rows x, ReadRows(outputs, "MLP outputs"));
  Rows o;
  if (others.defined()) {
    ASSIGN_OR_RETURN(o, ReadRows(others, "other vectors"));
    if (o.d != x.d) {
      return InvalidArgumentError("other vectors have width {}, the MLP outputs {}", o.d, x.d);
    }
  }
  MlpSubspace s;
  s.health = CountNonFinite(x.v);
  const InputHealth oh = CountNonFinite(o.v);
  s.health.num_nan += oh.num_nan;
  s.health.num_posinf += oh.num_posinf;
  s.health.num_neginf += oh.num_neginf;
  s.valid = s.health.valid();
  s.rank = std::min<int64_t>(options.rank, std::min(x.rows, x.d));
  if (!s.valid) {
    s.top_rank_share = s.mean_other_projection_share = kNaN;
    return s;
  }
  ASSIGN_OR_RETURN(auto svd, TorchCall("MLP subspace: SVD", [&] {
                     return SingularValuesAndDirections(x, options.center, s.rank);
                   }));
  const at::Tensor& sigma = svd.first;
  s.directions = svd.second;
  s.singular_values.assign(sigma.data_ptr<double>(), sigma.data_ptr<double>() + sigma.numel());
  double total = 0;
  for (double v : s.singular_values) total += v * v;
  double top = 0;
  for (size_t i = 0; i < s.singular_values.size(); ++i) {
    const double share = total > 0 ? s.singular_values[i] * s.singular_values[i] / total : kNaN;
    s.explained_variance.push_back(share);
    if (static_cast<int64_t>(i) < s.rank) top += share;
  }
  s.top_rank_share = top;
  const double* dirs = s.directions.data_ptr<double>();
  double share_sum = 0;
  int64_t share_count = 0;
  for (int64_t i = 0; i < o.rows; ++i) {
    double projected = 0;
    for (int64_t c = 0; c < s.rank; ++c) {
      const double p = Dot(o.row(i), dirs + c * x.d, x.d);
      projected += p * p;
    }
    const double norm = Norm(o.row(i), x.d);
    const double share = norm > 0 ? std::sqrt(projected) / norm : kNaN;
    s.other_projection_shares.push_back(share);
    if (!std::isnan(share)) {
      share_sum += share;
      ++share_count;
    }
  }
  s.mean_other_projection_share =
      share_count > 0 ? share_sum / static_cast<double>(share_count) : kNaN;
  return s;
}

}  // namespace sinkscope::analyzers::decomposition
