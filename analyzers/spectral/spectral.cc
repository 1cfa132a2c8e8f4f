#include "analyzers/spectral/spectral.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "analyzers/common/small_symmetric_eigen.h"
#include "analyzers/spectral/batched_eigenvalues.h"
#include "analyzers/spectral/graph_stats.h"
#include "analyzers/spectral/laplacian_eigenvalues.h"
#include "core/torch_call.h"

namespace sinkscope::analyzers::spectral {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// The ideal-star comparison of §8.10 for the graph S = (B + Bᵀ)/2 and hub c, from u = B + Bᵀ
/// (entries 0, 1, 2; zero diagonal). Every term of the three squared Frobenius norms is a multiple
/// of 1/4 far below 2⁵³, so they are summed exactly, in any order: the closed sums below give
/// the bits the entry-by-entry loop gave, at a fraction of its cost (the loop read Bᵀ by columns;
/// it and the in-degree loop were 12 % of the family's samples).
void StarComparison(const uint8_t* u, int64_t n, ThresholdGraphMetrics& m) {
  const int64_t c = m.hub;
  int64_t one_way = 0, two_way = 0, hub_sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    const int64_t x = u[c * n + j];  // u_cc = 0
    one_way += x == 1 ? 1 : 0;
    two_way += x == 2 ? 1 : 0;
    hub_sum += x;
  }
  const double w = one_way > two_way ? 0.5 : 1.0;
  m.star_edge_weight = w;
  m.star_fiedler_value = n >= 3 ? w : (n == 2 ? 2 * w : kNaN);
  m.fiedler_star_deviation = std::abs(m.fiedler_value - m.star_fiedler_value);
  // L = D − S with S = u/2; L_{S*} has −w on the hub's row and column. Off the diagonal:
  // Σ (−u/2 + w·[star edge])² = Σu²/4 − w·Σ u·[star edge] + w²·2(n−1), Σ u·[star edge] = 2Σ_j u_cj.
  int64_t u2 = 0;
  double degree2 = 0, degree_diff2 = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t row = 0;
    for (int64_t j = 0; j < n; ++j) {
      const int64_t x = u[i * n + j];
      row += x;
      u2 += x * x;
    }
    const double degree = 0.5 * static_cast<double>(row);
    const double star_degree = i == c ? static_cast<double>(n - 1) * w : w;
    degree2 += degree * degree;
    degree_diff2 += (degree - star_degree) * (degree - star_degree);
  }
  const double edges = 2.0 * static_cast<double>(n - 1);  // ordered pairs touching the hub
  const double off2 = 0.25 * static_cast<double>(u2);
  const double l2 = off2 + degree2;
  const double star_degree2 = static_cast<double>(n - 1) * w * (static_cast<double>(n - 1) * w) +
                              static_cast<double>(n - 1) * w * w;
  const double star2 = w * w * edges + star_degree2;
  const double diff2 = off2 - 2 * w * static_cast<double>(hub_sum) + w * w * edges + degree_diff2;
  const double denominator = std::sqrt(l2) + std::sqrt(star2);
  m.star_proximity = n >= 2 && denominator > 0 ? 1.0 - std::sqrt(diff2) / denominator : kNaN;
}

/// row[j] = 1[a_j > τ], four compares to an instruction (one compare, seta and byte store per
/// entry were ~1/6 of the host builder's samples).
__attribute__((target_clones("avx2", "default"))) void ThresholdRow(const double* a, int64_t n,
                                                                    double tau, uint8_t* row) {
  using V4 = double __attribute__((vector_size(32)));
  using M4 = int64_t __attribute__((vector_size(32)));
  const V4 t = V4{} + tau;
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    V4 x;
    std::memcpy(&x, a + j, sizeof x);
    const M4 m = x > t;  // −1 where true
    for (int l = 0; l < 4; ++l) row[j + l] = static_cast<uint8_t>(m[l] & 1);
  }
  for (; j < n; ++j) row[j] = a[j] > tau ? 1 : 0;
}

/// One thresholded graph B (zero diagonal) as what its metrics and Laplacians read: u = B + Bᵀ
/// (entries 0, 1, 2), the in-degrees and the number of edges, built in one pass and reused.
struct ThresholdGraph {
  std::vector<uint8_t> b, u;
  std::vector<int64_t> in_count, row_sum;  // Σ_i B_ij; Σ_j u_ij
  int64_t num_edges = 0;

  /// From the rows of B (0/1; the diagonal is ignored). Branch-free (the bits are random, so
  /// `if (b_ij)` mispredicted), through local restrict pointers: with stores through uint8_t
  /// GCC reloaded every vector's data pointer per element and vectorized nothing.
  /// fill_row(i, row) writes row i of B (its diagonal entry is cleared afterwards).
  template <typename FillRow>
  void Build(int64_t n, FillRow fill_row) {
    const auto un = static_cast<size_t>(n);
    b.resize(un * un);
    u.resize(un * un);
    in_count.assign(un, 0);
    row_sum.resize(un);
    uint8_t* __restrict bp = b.data();
    uint8_t* __restrict up = u.data();
    int64_t* __restrict in = in_count.data();
    int64_t edges = 0;
    for (int64_t i = 0; i < n; ++i) {
      fill_row(i, bp + i * n);
      bp[i * n + i] = 0;
    }
    for (int64_t i = 0; i < n; ++i) {
      int64_t sum = 0, out = 0;
      for (int64_t j = 0; j < n; ++j) {
        const uint8_t bij = bp[i * n + j], x = static_cast<uint8_t>(bij + bp[j * n + i]);
        up[i * n + j] = x;
        sum += x;
        out += bij;
        in[j] += bij;
      }
      row_sum[i] = sum;
      edges += out;
    }
    num_edges = edges;
  }
};

ThresholdGraphMetrics GraphMetrics(const ThresholdGraph& g, int64_t n,
                                   const LaplacianEigenvalues& ev,
                                   const LaplacianEigenvalues& ev_sym, double tau,
                                   bool compute_paths) {
  ThresholdGraphMetrics m;
  m.threshold = tau;
  m.num_edges = g.num_edges;
  const std::vector<int64_t>& in_count = g.in_count;
  const std::vector<uint8_t>& u = g.u;
  std::vector<double> in_degree(in_count.begin(), in_count.end());
  m.density = n >= 2 ? static_cast<double>(m.num_edges) / (static_cast<double>(n) * (n - 1)) : 0;
  const DegreeStats stats = ComputeDegreeStats(in_degree);
  m.hub = stats.argmax;
  m.max_in_degree = static_cast<int64_t>(stats.max_degree);
  m.star_likeness = stats.basic_star;
  m.gini_coefficient = stats.gini;
  m.degree_centralization = stats.centralization;
  m.degree_variance = stats.variance;

  m.zero_eigenvalue_tolerance = ev.zero_tolerance;
  m.zero_eigenvalue_multiplicity = ev.zero_multiplicity;
  m.fiedler_value = ev.second;
  m.normalized_fiedler_value = ev_sym.second;
  m.laplacian_gap_difference = ev.third - ev.second;
  StarComparison(u.data(), n, m);

  // Undirected graph B ∨ Bᵀ (u ≠ 0) for components, paths and clustering.
  const GraphWalks walks = WalkGraph(DenseGraph{u.data(), n}, compute_paths);
  m.num_components = walks.num_components;
  m.largest_component_size = walks.largest_component_size;
  m.avg_shortest_path = walks.avg_shortest_path;
  m.clustering_coefficient = walks.clustering;
  return m;
}

WeightedGraphMetrics WeightedMetrics(const double* a, int64_t n, const LaplacianEigenvalues& ev,
                                     const LaplacianEigenvalues& ev_sym) {
  WeightedGraphMetrics m;
  std::vector<double> strength(static_cast<size_t>(n), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      if (i != j) strength[j] += a[i * n + j];
    }
  }
  const DegreeStats stats = ComputeDegreeStats(strength);
  m.hub = stats.argmax;
  m.max_in_strength = stats.max_degree;
  m.in_strength_gini = stats.gini;
  m.in_strength_variance = stats.variance;
  m.fiedler_value = ev.second;
  m.normalized_fiedler_value = ev_sym.second;
  m.laplacian_gap_difference = ev.third - ev.second;
  return m;
}

void MarkInvalid(SpectralMatrixResult& r) {
  r.valid = false;
  for (auto& t : r.thresholds) {
    const double tau = t.threshold;
    t = ThresholdGraphMetrics{};
    t.threshold = tau;
    for (double* f : {&t.density, &t.star_likeness, &t.gini_coefficient, &t.degree_centralization,
                      &t.degree_variance, &t.zero_eigenvalue_tolerance, &t.fiedler_value,
                      &t.normalized_fiedler_value, &t.laplacian_gap_difference, &t.star_edge_weight,
                      &t.star_fiedler_value, &t.fiedler_star_deviation, &t.star_proximity,
                      &t.avg_shortest_path, &t.clustering_coefficient}) {
      *f = kNaN;
    }
    for (int64_t* f : {&t.num_edges, &t.hub, &t.max_in_degree, &t.num_components,
                       &t.zero_eigenvalue_multiplicity, &t.largest_component_size}) {
      *f = -1;
    }
  }
  WeightedGraphMetrics& w = r.weighted;
  w = WeightedGraphMetrics{};
  w.hub = -1;
  for (double* f : {&w.fiedler_value, &w.normalized_fiedler_value, &w.laplacian_gap_difference,
                    &w.max_in_strength, &w.in_strength_gini, &w.in_strength_variance}) {
    *f = kNaN;
  }
}

/// λ2, λ3, λ_max and the multiplicity of 0 of L (entries 0..K−1) and L_sym (K..2K−1) of the
/// weights [K, n, n].
StatusOr<std::vector<LaplacianEigenvalues>> LaplacianSpectra(const at::Tensor& weights,
                                                             SymmetricEigenSolver solver) {
  ASSIGN_OR_RETURN(
      at::Tensor laplacians, TorchCall("building Laplacians", [&] {
        return at::cat({CombinatorialLaplacians(weights), NormalizedLaplacians(weights)});
      }));
  return ComputeLaplacianEigenvalues(laplacians, solver);
}

/// Writes the lower triangles (all the solver reads: small_symmetric_eigen.h, UPLO = 'L') of the
/// combinatorial Laplacian L = D − W and of L_sym = D^{-1/2} L D^{-1/2} (isolated nodes: zero row
/// and column) for the symmetric weights `w(i, j)` (i > j) with degrees `degree(i)` =
/// Σ_{j≠i} w(i, j): what CombinatorialLaplacians and NormalizedLaplacians compute, in one pass
/// without tensors. The stores of the upper halves were ~1/4 of the builder's samples.
template <typename Weight, typename Degree>
void BuildLaplacians(int64_t n, Weight w, Degree degree, double* __restrict l,
                     double* __restrict l_sym, std::vector<double>& scale) {
  scale.resize(static_cast<size_t>(n));
  double* __restrict sp = scale.data();
  for (int64_t r = 0; r < n; ++r) {
    const double dr = degree(r);
    sp[r] = dr > 0 ? 1.0 / std::sqrt(dr) : 0.0;
  }
  for (int64_t r = 0; r < n; ++r) {
    const double sc = sp[r];
    for (int64_t c = 0; c < r; ++c) {
      const double v = -w(r, c);
      l[r * n + c] = v;
      l_sym[r * n + c] = sc * v * sp[c];
    }
    const double dr = degree(r);
    l[r * n + r] = dr;
    l_sym[r * n + r] = sc * dr * sc;
  }
}

/// The CPU path of ComputeSpectral (kEigen / kAuto on CPU tensors): graphs and Laplacians are
/// built in plain loops into buffers reused across thresholds, and λ2, λ3, λ_max come from
/// ComputeLaplacianEigenvaluesCpu. Same values as the tensor path below (bench/layer_metrics
/// measured ~1.4 ms per 9-head layer at n = 48 in building the Laplacians as tensors, plus page
/// faults from allocating them per threshold).
void ComputeOnHost(const at::Tensor& matrices, const SpectralOptions& options,
                   SpectralResult& result) {
  const at::Tensor host = matrices.contiguous();
  const int64_t k = host.size(0), n = host.size(1);
  const double* all = host.data_ptr<double>();
  const size_t nn = static_cast<size_t>(n * n);
  // Non-finite entries are read as 0 (the solver needs finite input; such matrices are marked
  // invalid at the end), and the diagonal as 0, as in the tensor path.
  std::vector<double> a(static_cast<size_t>(k) * nn);
  for (size_t x = 0; x < a.size(); ++x) a[x] = std::isfinite(all[x]) ? all[x] : 0.0;
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t d = 0; d < n; ++d) a[static_cast<size_t>(i) * nn + d * (n + 1)] = 0.0;
  }
  std::vector<double> laplacians(2 * static_cast<size_t>(k) * nn), scale;
  auto laplacian = [&](int64_t m) { return laplacians.data() + static_cast<size_t>(m) * nn; };
  // Round t (each threshold, then the weighted graph) tridiagonalizes its 2K Laplacians into
  // slice t of d and e; one bisection call afterwards takes every round's requests, so that only
  // the last of its 16-chain blocks is padded (one call per round: 24 blocks per layer at K = 10,
  // 4 of them padding; together: 20).
  const auto thresholds = static_cast<int64_t>(options.thresholds.size());
  const int64_t rounds = thresholds + 1;
  const size_t round_size = 2 * static_cast<size_t>(k) * static_cast<size_t>(n);
  std::vector<double> d(static_cast<size_t>(rounds) * round_size), e(d.size());
  auto tridiagonalize = [&](int64_t round) {
    const size_t at = static_cast<size_t>(round) * round_size;
    TridiagonalizeSymmetric(laplacians, n, std::span<double>(d).subspan(at, round_size),
                            std::span<double>(e).subspan(at, round_size));
  };
  std::vector<ThresholdGraph> graphs(static_cast<size_t>(thresholds * k));

  for (int64_t t = 0; t < thresholds; ++t) {
    const double tau = options.thresholds[t];
    for (int64_t i = 0; i < k; ++i) {
      const double* ai = a.data() + static_cast<size_t>(i) * nn;
      ThresholdGraph& g = graphs[t * k + i];
      g.Build(n, [&](int64_t r, uint8_t* row) { ThresholdRow(ai + r * n, n, tau, row); });
      // L = D − S with S = u/2 and degrees Σ_j u_ij / 2 (multiples of ½, summed exactly in any
      // order: the bits of 0.5·(B_ij + B_ji) summed entry by entry), without reading B again.
      const uint8_t* u = g.u.data();
      const int64_t* row_sum = g.row_sum.data();
      BuildLaplacians(
          n, [&](int64_t r, int64_t c) { return 0.5 * static_cast<double>(u[r * n + c]); },
          [&](int64_t r) { return 0.5 * static_cast<double>(row_sum[r]); }, laplacian(i),
          laplacian(k + i), scale);
    }
    tridiagonalize(t);
  }

  const bool use_max = options.weighted_symmetrization == Symmetrization::kMax;
  std::vector<double> degrees(static_cast<size_t>(n));
  for (int64_t i = 0; i < k; ++i) {
    const double* ai = a.data() + static_cast<size_t>(i) * nn;
    auto w = [&](int64_t r, int64_t c) {
      return use_max ? std::max(ai[r * n + c], ai[c * n + r])
                     : (ai[r * n + c] + ai[c * n + r]) * 0.5;
    };
    for (int64_t r = 0; r < n; ++r) {
      double degree = 0;
      for (int64_t c = 0; c < n; ++c) degree += c == r ? 0.0 : w(r, c);
      degrees[r] = degree;
    }
    BuildLaplacians(
        n, w, [&](int64_t r) { return degrees[r]; }, laplacian(i), laplacian(k + i), scale);
  }
  tridiagonalize(thresholds);
  // λ2, λ3, λ_max of each round's L (its first K matrices), λ2 of its L_sym.
  std::vector<bool> complete(static_cast<size_t>(rounds * 2 * k));
  for (size_t m = 0; m < complete.size(); ++m) complete[m] = m % (2 * k) < static_cast<size_t>(k);
  const std::vector<LaplacianEigenvalues> ev =
      LaplacianEigenvaluesOfTridiagonals(d.data(), e.data(), rounds * 2 * k, n, complete);
  for (int64_t t = 0; t < thresholds; ++t) {
    const LaplacianEigenvalues* round = ev.data() + t * 2 * k;
    for (int64_t i = 0; i < k; ++i) {
      result.matrices[i].thresholds.push_back(GraphMetrics(graphs[t * k + i], n, round[i],
                                                           round[k + i], options.thresholds[t],
                                                           options.compute_paths));
    }
  }
  const LaplacianEigenvalues* weighted = ev.data() + thresholds * 2 * k;
  for (int64_t i = 0; i < k; ++i) {
    SpectralMatrixResult& r = result.matrices[i];
    r.weighted =
        WeightedMetrics(a.data() + static_cast<size_t>(i) * nn, n, weighted[i], weighted[k + i]);
    if (!r.health.valid()) MarkInvalid(r);
  }
}

}  // namespace

std::string_view SymmetrizationName(Symmetrization s) {
  return s == Symmetrization::kMax ? "max" : "mean";
}

StatusOr<Symmetrization> ParseSymmetrization(std::string_view name) {
  if (name == "mean") return Symmetrization::kMean;
  if (name == "max") return Symmetrization::kMax;
  return InvalidArgumentError("unknown symmetrization '{}' (mean or max)", name);
}

std::vector<double> DefaultSpectralThresholds() {
  return {0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2};
}

StatusOr<SpectralResult> ComputeSpectral(const at::Tensor& attention,
                                         const SpectralOptions& options) {
  RETURN_IF_ERROR(ValidateAttention(attention));
  const int64_t n = attention.size(-1);
  if (n > options.max_tokens) {
    return ResourceExhaustedError("spectral: n = {} tokens exceeds the limit of {} (max_tokens)", n,
                                  options.max_tokens);
  }
  for (double tau : options.thresholds) {
    if (!std::isfinite(tau))
      return InvalidArgumentError("spectral: threshold {} is not finite", tau);
  }
  ASSIGN_OR_RETURN(MatrixBatch batch, SelectMatrices(attention, options.heads, at::kDouble));
  const auto health = CheckFinite(batch.matrices);
  const int64_t k = batch.matrices.size(0);

  SpectralResult result;
  result.num_tokens = n;
  result.num_heads = attention.dim() == 3 ? attention.size(0) : 1;
  result.thresholds = options.thresholds;
  result.heads = options.heads;
  result.weighted_symmetrization = options.weighted_symmetrization;
  result.compute_paths = options.compute_paths;
  result.eigen_solver = options.eigen_solver;
  result.matrices.resize(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) {
    result.matrices[i].head = batch.heads[i];
    result.matrices[i].health = health[i];
  }

  ASSIGN_OR_RETURN(const SymmetricEigenSolver solver,
                   ResolveSymmetricEigenSolver(options.eigen_solver, batch.matrices));
  if (solver == SymmetricEigenSolver::kEigen) {
    ComputeOnHost(batch.matrices, options, result);
    return result;
  }

  // Non-finite matrices are computed as zeros (so the solver sees finite input) and overwritten.
  ASSIGN_OR_RETURN(
      at::Tensor a, TorchCall("preparing matrices", [&] {
        at::Tensor off_diagonal = 1 - at::eye(n, batch.matrices.options()).unsqueeze(0);
        return (at::nan_to_num(batch.matrices, 0.0, 0.0, 0.0) * off_diagonal).contiguous();
      }));

  for (double tau : options.thresholds) {
    ASSIGN_OR_RETURN(at::Tensor b, TorchCall("thresholding", [&] { return a.gt(tau); }));
    ASSIGN_OR_RETURN(at::Tensor s, TorchCall("symmetrizing", [&] {
                       at::Tensor bd = b.to(at::kDouble);
                       return (bd + bd.transpose(1, 2)) * 0.5;
                     }));
    ASSIGN_OR_RETURN(std::vector<LaplacianEigenvalues> ev,
                     LaplacianSpectra(s, options.eigen_solver));
    ASSIGN_OR_RETURN(at::Tensor b_cpu, TorchCall("copying graphs", [&] {
                       return b.to(at::kByte).cpu().contiguous();
                     }));
    const auto* bp = b_cpu.data_ptr<uint8_t>();
    ThresholdGraph g;
    for (int64_t i = 0; i < k; ++i) {
      g.Build(n, [&](int64_t r, uint8_t* row) {
        std::copy(bp + i * n * n + r * n, bp + i * n * n + (r + 1) * n, row);
      });
      result.matrices[i].thresholds.push_back(
          GraphMetrics(g, n, ev[i], ev[k + i], tau, options.compute_paths));
    }
  }

  ASSIGN_OR_RETURN(at::Tensor w, TorchCall("symmetrizing", [&] {
                     at::Tensor t = a.transpose(1, 2);
                     return options.weighted_symmetrization == Symmetrization::kMax
                                ? at::maximum(a, t)
                                : (a + t) * 0.5;
                   }));
  ASSIGN_OR_RETURN(std::vector<LaplacianEigenvalues> ev, LaplacianSpectra(w, options.eigen_solver));
  ASSIGN_OR_RETURN(at::Tensor a_cpu,
                   TorchCall("copying matrices", [&] { return a.cpu().contiguous(); }));
  for (int64_t i = 0; i < k; ++i) {
    SpectralMatrixResult& r = result.matrices[i];
    r.weighted = WeightedMetrics(a_cpu.data_ptr<double>() + i * n * n, n, ev[i], ev[k + i]);
    if (!r.health.valid()) MarkInvalid(r);
  }
  return result;
}

}  // namespace sinkscope::analyzers::spectral
