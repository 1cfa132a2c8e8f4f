#include "analyzers/spectral/paper_spectral.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <c10/util/Half.h>

#include "analyzers/spectral/batched_eigenvalues.h"
#include "analyzers/spectral/graph_stats.h"
#include "core/torch_call.h"

namespace sinkscope::analyzers::spectral {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// τ rounded once from double to float16, to nearest with ties to even (numpy's
/// npy_double_to_half). Going through float first could round twice, so the float16 neighbours of
/// that first guess are compared with τ in double.
double RoundToHalf(double tau) {
  const c10::Half guess(static_cast<float>(tau));
  if (!std::isfinite(static_cast<float>(guess))) return static_cast<float>(guess);
  double best = static_cast<float>(guess);
  uint16_t best_bits = guess.x;
  for (int delta : {-1, 1}) {
    c10::Half candidate;
    candidate.x = static_cast<uint16_t>(guess.x + delta);
    const double value = static_cast<float>(candidate);
    if (!std::isfinite(value)) continue;
    const double d_new = std::abs(value - tau), d_best = std::abs(best - tau);
    if (d_new < d_best || (d_new == d_best && (candidate.x & 1) == 0 && (best_bits & 1) != 0)) {
      best = value;
      best_bits = candidate.x;
    }
  }
  return best;
}

/// Sets every metric the notebook computes from the graph (not the density) to NaN.
void ClearGraphMetrics(PaperThresholdMetrics& m) {
  for (double* f :
       {&m.paper_connections, &m.paper_first_eigenvalue, &m.paper_fiedler_value,
        &m.paper_spectral_gap, &m.paper_max_in_degree, &m.paper_basic_star_likeness,
        &m.paper_gini_coefficient, &m.paper_star_likeness, &m.paper_degree_centralization,
        &m.paper_degree_variance, &m.paper_avg_shortest_path, &m.paper_clustering_coefficient}) {
    *f = kNaN;
  }
}

/// The guards' result: the keys the notebook returns are 0, the others absent (NaN).
void GuardZeros(PaperSpectralVariant variant, const char* error, PaperThresholdMetrics& m) {
  ClearGraphMetrics(m);
  m.paper_error = error;
  m.paper_fiedler_value = 0;
  m.paper_star_likeness = 0;
  if (variant == PaperSpectralVariant::kLaplacianNotebook) {
    m.paper_spectral_gap = 0;
    m.paper_degree_centralization = 0;
    m.paper_degree_variance = 0;
    m.paper_max_in_degree = 0;
  }
}

/// One (matrix, τ): `b` is the n×n 0/1 matrix 1[Ā > τ] with the diagonal, `ev` the ascending
/// eigenvalues of L = diag(S·1) − S, S = (B + Bᵀ)/2.
void PaperGraphMetrics(const uint8_t* b, int64_t n, const double* ev,
                       const PaperSpectralOptions& options, PaperThresholdMetrics& m) {
  const bool laplacian_nb = options.variant == PaperSpectralVariant::kLaplacianNotebook;
  int64_t count = 0;
  for (int64_t i = 0; i < n * n; ++i) count += b[i] ? 1 : 0;
  m.paper_connection_density = static_cast<double>(count) / static_cast<double>(n * n);
  m.paper_effective = m.paper_connection_density >= 0.05 && m.paper_connection_density <= 0.95;
  if (laplacian_nb && options.paper_gate_layer.has_value() && !m.paper_effective &&
      *options.paper_gate_layer % 4 != 0) {
    m.paper_gated_out = true;
    ClearGraphMetrics(m);
    return;
  }
  if (laplacian_nb && n < 2) return GuardZeros(options.variant, "n < 2", m);
  if (count < 2) return GuardZeros(options.variant, "too few", m);

  // Nodes of the directed graph: all n (laplacian.ipynb, n ≤ 50) or the edge list's.
  const bool all_nodes = laplacian_nb && n <= kPaperDenseMaxTokens;
  std::vector<double> in_degree;
  for (int64_t j = 0; j < n; ++j) {
    double column = 0;
    bool touched = false;
    for (int64_t i = 0; i < n; ++i) {
      column += b[i * n + j];
      touched = touched || b[i * n + j] || b[j * n + i];
    }
    if (all_nodes || touched) in_degree.push_back(column);
  }
  const DegreeStats stats = ComputeDegreeStats(in_degree);
  m.paper_num_nodes = static_cast<int64_t>(in_degree.size());
  m.paper_fiedler_value = ev[1];
  m.paper_degree_centralization = stats.centralization;
  m.paper_degree_variance = stats.variance;
  if (!laplacian_nb) {
    ClearGraphMetrics(m);
    m.paper_fiedler_value = ev[1];
    m.paper_star_likeness = stats.basic_star;
    m.paper_degree_centralization = stats.centralization;
    m.paper_degree_variance = stats.variance;
    return;
  }
  m.paper_connections = static_cast<double>(count);
  m.paper_max_in_degree = stats.max_degree;
  m.paper_basic_star_likeness = stats.basic_star;
  m.paper_gini_coefficient = stats.gini;
  m.paper_star_likeness = 0.3 * stats.basic_star + 0.7 * stats.gini;
  // n > 50: ARPACK's 3 smallest; the dense spectrum's first 3 are the same values.
  const int64_t kept = n <= kPaperDenseMaxTokens ? n : std::min<int64_t>(3, n);
  m.paper_first_eigenvalue = ev[0];
  m.paper_spectral_gap = kept > 2 ? ev[2] - ev[1] : 0.0;
  if (n <= kPaperPathMaxTokens) {
    std::vector<uint8_t> both(static_cast<size_t>(n * n));
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) both[i * n + j] = (b[i * n + j] | b[j * n + i]) ? 1 : 0;
    }
    const GraphWalks walks = WalkGraph(DenseGraph{both.data(), n}, /*compute_paths=*/true);
    m.paper_avg_shortest_path = walks.avg_shortest_path;
    m.paper_clustering_coefficient = walks.clustering;
  } else {
    m.paper_avg_shortest_path = kNaN;
    m.paper_clustering_coefficient = kNaN;
  }
}

}  // namespace

std::string_view PaperSpectralVariantName(PaperSpectralVariant v) {
  return v == PaperSpectralVariant::kFiedlerNotebook ? "fiedler" : "laplacian";
}

StatusOr<PaperSpectralVariant> ParsePaperSpectralVariant(std::string_view name) {
  if (name == "laplacian") return PaperSpectralVariant::kLaplacianNotebook;
  if (name == "fiedler") return PaperSpectralVariant::kFiedlerNotebook;
  return InvalidArgumentError("unknown paper variant '{}' (laplacian or fiedler)", name);
}

std::vector<double> PaperDefaultThresholds(PaperSpectralVariant v) {
  if (v == PaperSpectralVariant::kFiedlerNotebook) {
    return {0.001, 0.005, 0.01, 0.02, 0.5, 0.1, 0.2};  // 0.5: the notebook's typo (§6.1)
  }
  return {0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2};
}

StatusOr<PaperSpectralResult> ComputePaperSpectral(const at::Tensor& attention,
                                                   const PaperSpectralOptions& options) {
  RETURN_IF_ERROR(ValidateAttention(attention));
  const int64_t n = attention.size(-1);
  if (n > options.max_tokens) {
    return ResourceExhaustedError(
        "paper spectral: n = {} tokens exceeds the limit of {} (max_tokens)", n,
        options.max_tokens);
  }
  PaperSpectralResult result;
  result.thresholds =
      options.thresholds.empty() ? PaperDefaultThresholds(options.variant) : options.thresholds;
  for (double tau : result.thresholds) {
    if (!std::isfinite(tau)) {
      return InvalidArgumentError("paper spectral: threshold {} is not finite", tau);
    }
  }
  // Ā in the notebooks' precision (see the header), held as float32 (exact for float16 values).
  ASSIGN_OR_RETURN(at::Tensor input, TorchCall("rounding to float16", [&] {
                     return options.paper_float16 ? attention.to(at::kHalf).to(at::kFloat)
                                                  : attention;
                   }));
  ASSIGN_OR_RETURN(MatrixBatch batch, SelectMatrices(input, options.heads, at::kFloat));
  const auto health = CheckFinite(batch.matrices);
  const int64_t k = batch.matrices.size(0);
  ASSIGN_OR_RETURN(at::Tensor a, TorchCall("preparing matrices", [&] {
                     at::Tensor m = at::nan_to_num(batch.matrices, 0.0, 0.0, 0.0);
                     if (options.paper_float16) m = m.to(at::kHalf).to(at::kFloat);
                     return m.contiguous();
                   }));

  result.num_tokens = n;
  result.num_heads = attention.dim() == 3 ? attention.size(0) : 1;
  result.variant = options.variant;
  result.heads = options.heads;
  result.paper_float16 = options.paper_float16;
  result.eigen_solver = options.eigen_solver;
  result.paper_gate_layer = options.paper_gate_layer;
  result.matrices.resize(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) {
    result.matrices[i].head = batch.heads[i];
    result.matrices[i].health = health[i];
    result.matrices[i].valid = health[i].valid();
  }

  for (double tau : result.thresholds) {
    // numpy compares a float16 (float32) array with a Python float in float16 (float32).
    const double compared =
        options.paper_float16 ? RoundToHalf(tau) : static_cast<double>(static_cast<float>(tau));
    ASSIGN_OR_RETURN(at::Tensor b, TorchCall("thresholding", [&] {
                       return a.gt(static_cast<float>(compared)).to(at::kByte).contiguous();
                     }));
    ASSIGN_OR_RETURN(at::Tensor laplacians, TorchCall("building Laplacians", [&] {
                       at::Tensor bd = b.to(at::kDouble);
                       return CombinatorialLaplacians((bd + bd.transpose(1, 2)) * 0.5);
                     }));
    ASSIGN_OR_RETURN(at::Tensor ev, BatchedSymmetricEigenvalues(laplacians, options.eigen_solver));
    ASSIGN_OR_RETURN(at::Tensor ev_cpu,
                     TorchCall("copying eigenvalues", [&] { return ev.cpu().contiguous(); }));
    ASSIGN_OR_RETURN(at::Tensor b_cpu,
                     TorchCall("copying graphs", [&] { return b.cpu().contiguous(); }));
    for (int64_t i = 0; i < k; ++i) {
      PaperThresholdMetrics m;
      m.threshold = tau;
      m.paper_threshold_compared = compared;
      if (result.matrices[i].valid) {
        PaperGraphMetrics(b_cpu.data_ptr<uint8_t>() + i * n * n, n,
                          ev_cpu.data_ptr<double>() + i * n, options, m);
      } else {
        ClearGraphMetrics(m);
        m.paper_connection_density = kNaN;
        m.paper_num_nodes = -1;
      }
      result.matrices[i].thresholds.push_back(std::move(m));
    }
  }
  return result;
}

}  // namespace sinkscope::analyzers::spectral
