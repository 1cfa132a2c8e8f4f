// PAPER topology metrics (topology.ipynb semantics, spec §3.3–3.4); see
// paper_topology_metrics.h for the ideas.
#include "analyzers/topology/paper_topology_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <utility>

#include "core/torch_call.h"

namespace sinkscope::analyzers::topology {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr Value kInf = std::numeric_limits<Value>::infinity();

Status ValidateOptions(const PaperTopologyOptions& o) {
  if (o.paper_max_points < 1 || o.paper_max_points > kMaxPointsLimit) {
    return InvalidArgumentError("paper_max_points must be in [1, {}], got {}", kMaxPointsLimit,
                                o.paper_max_points);
  }
  for (double t : o.density_thresholds) {
    if (std::isnan(t)) return InvalidArgumentError("density_thresholds holds NaN");
  }
  if (o.max_tokens < 1) {
    return InvalidArgumentError("max_tokens must be ≥ 1, got {}", o.max_tokens);
  }
  return OkStatus();
}

/// A float32 matrix [n, n] on the CPU, row-major.
struct FloatMatrix {
  int64_t n = 0;
  std::vector<float> a;
  float operator()(int64_t i, int64_t j) const { return a[static_cast<size_t>(i * n + j)]; }
};

FloatMatrix ToFloat(const at::Tensor& matrix) {
  at::Tensor m = matrix.to(at::kCPU, at::kFloat).contiguous();
  FloatMatrix f;
  f.n = m.size(-1);
  f.a.assign(m.data_ptr<float>(), m.data_ptr<float>() + f.n * f.n);
  return f;
}

/// Mean, max, min and population std of all entries, accumulated in float64.
struct EntryStats {
  double mean = 0, max = 0, min = 0, std = 0;
};

EntryStats Stats(const std::vector<float>& values) {
  EntryStats s;
  const auto count = static_cast<double>(values.size());
  double sum = 0;
  s.max = -std::numeric_limits<double>::infinity();
  s.min = std::numeric_limits<double>::infinity();
  for (float v : values) {
    sum += v;
    s.max = std::max<double>(s.max, v);
    s.min = std::min<double>(s.min, v);
  }
  s.mean = sum / count;
  double sq = 0;
  for (float v : values) sq += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(sq / count);
  return s;
}

struct Edge {
  Value w;
  int64_t i, j;
};

/// H0 of ripser.py's sparse constructor (spec §3.3.1 / Appendix A): vertex births, union–find
/// over the present edges in ascending order, the elder rule, pairs only if death > birth.
std::vector<PersistenceInterval> SparseH0(const std::vector<Value>& births,
                                          const std::vector<Edge>& sorted_edges) {
  const auto n = static_cast<int64_t>(births.size());
  std::vector<int64_t> parent(static_cast<size_t>(n));
  std::iota(parent.begin(), parent.end(), 0);
  std::vector<Value> birth = births;
  auto find = [&](int64_t x) {
    while (parent[x] != x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  std::vector<PersistenceInterval> dgm;
  for (const Edge& e : sorted_edges) {
    const int64_t u = find(e.i), v = find(e.j);
    if (u == v) continue;
    const Value b = std::max(birth[u], birth[v]);
    if (e.w > b) dgm.push_back({b, e.w});
    parent[v] = u;
    birth[u] = std::min(birth[u], birth[v]);
  }
  for (int64_t x = 0; x < n; ++x) {
    if (find(x) == x) dgm.push_back({birth[x], kInf});
  }
  return dgm;
}

void SortDiagram(std::vector<PersistenceInterval>& dgm) {
  std::sort(dgm.begin(), dgm.end(), [](const auto& a, const auto& b) {
    return a.birth != b.birth ? a.birth < b.birth : a.death < b.death;
  });
}

void PersistenceStats(const std::vector<PersistenceInterval>& dgm, std::optional<double>& avg,
                      std::optional<double>& max) {
  double sum = 0, best = 0;
  int64_t count = 0;
  for (const auto& bar : dgm) {
    if (std::isinf(bar.death)) continue;
    const double p = static_cast<double>(bar.death) - static_cast<double>(bar.birth);
    sum += p;
    best = count == 0 ? p : std::max(best, p);
    ++count;
  }
  if (count > 0) {
    avg = sum / static_cast<double>(count);
    max = best;
  }
}

PaperTopologyMatrixResult InvalidEntry(int head, const InputHealth& health, int64_t n,
                                       size_t num_thresholds) {
  PaperTopologyMatrixResult r;
  r.head = head;
  r.health = health;
  r.valid = false;
  r.num_tokens = n;
  r.attention_mean = r.attention_max = r.attention_min = r.attention_std = kNaN;
  r.density.assign(num_thresholds, kNaN);
  return r;
}

StatusOr<PaperTopologyMatrixResult> AnalyzeMatrix(const FloatMatrix& a,
                                                  const PaperTopologyOptions& options) {
  PaperTopologyMatrixResult r;
  r.num_tokens = a.n;
  const EntryStats stats = Stats(a.a);
  r.attention_mean = stats.mean;
  r.attention_max = stats.max;
  r.attention_min = stats.min;
  r.attention_std = stats.std;
  for (double tau : options.density_thresholds) {
    // numpy compares a float32 array with a Python float in float32.
    const auto t = static_cast<float>(tau);
    const auto above = std::count_if(a.a.begin(), a.a.end(), [&](float x) { return x > t; });
    r.density.push_back(static_cast<double>(above) / static_cast<double>(a.a.size()));
  }
  r.paper_kept_tokens = PaperDownsampleIndices(a.n, options.paper_max_points);
  const auto m = static_cast<int64_t>(r.paper_kept_tokens.size());
  std::vector<Value> d(static_cast<size_t>(m * m));
  for (int64_t p = 0; p < m; ++p) {
    for (int64_t q = 0; q < m; ++q) {
      d[static_cast<size_t>(p * m + q)] = 1.0f - a(r.paper_kept_tokens[static_cast<size_t>(p)],
                                                   r.paper_kept_tokens[static_cast<size_t>(q)]);
    }
  }
  ASSIGN_OR_RETURN(PaperDiagrams dgms, PaperRipserDiagrams(d, m));
  r.paper_dense_path = dgms.dense_path;
  r.paper_betti0 = static_cast<int64_t>(dgms.dgm0.size());
  r.paper_betti1 = static_cast<int64_t>(dgms.dgm1.size());
  PersistenceStats(dgms.dgm0, r.dim0_avg_persistence, r.dim0_max_persistence);
  PersistenceStats(dgms.dgm1, r.dim1_avg_persistence, r.dim1_max_persistence);
  if (options.include_bars) {
    r.paper_dgm0 = std::move(dgms.dgm0);
    r.paper_dgm1 = std::move(dgms.dgm1);
  }
  return r;
}

}  // namespace

std::vector<int64_t> PaperDownsampleIndices(int64_t n, int64_t m) {
  std::vector<int64_t> idx;
  if (n <= m) {
    idx.resize(static_cast<size_t>(n));
    std::iota(idx.begin(), idx.end(), 0);
    return idx;
  }
  if (m == 1) return {0};
  // numpy: step = (stop − start)/(num − 1) in double, y_k = k·step, y_last = stop, then trunc.
  const double step = static_cast<double>(n - 1) / static_cast<double>(m - 1);
  for (int64_t k = 0; k + 1 < m; ++k) {
    idx.push_back(static_cast<int64_t>(static_cast<double>(k) * step));
  }
  idx.push_back(n - 1);
  return idx;
}

StatusOr<PaperDiagrams> PaperRipserDiagrams(const std::vector<Value>& d, int64_t m) {
  if (m < 1 || static_cast<int64_t>(d.size()) != m * m) {
    return InvalidArgumentError("PaperRipserDiagrams needs an m×m matrix, got {} values for m = {}",
                                d.size(), m);
  }
  auto at = [&](int64_t i, int64_t j) { return d[static_cast<size_t>(i * m + j)]; };
  PaperDiagrams out;
  out.dense_path = true;
  for (int64_t i = 0; i < m; ++i) out.dense_path = out.dense_path && at(i, i) == 0;

  // The edges ripser.py sees: the upper triangle; zero entries are dropped by the COO conversion
  // on the sparse path and kept (at 0) on the dense path.
  std::vector<Edge> edges;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = i + 1; j < m; ++j) {
      const Value w = at(i, j);
      if (std::isnan(w)) return InvalidArgumentError("distance ({}, {}) is NaN", i, j);
      if (w < 0) {
        return InvalidArgumentError(
            "distance ({}, {}) = {} is negative (attention above 1); the engine needs d ≥ 0", i, j,
            w);
      }
      if (out.dense_path || w != 0) edges.push_back({w, i, j});
    }
  }
  std::sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) {
    if (a.w != b.w) return a.w < b.w;
    return a.i != b.i ? a.i < b.i : a.j < b.j;
  });

  // The symmetric matrix of the edge values; the engine reads its strict lower triangle.
  Value largest = 0;
  for (const Edge& e : edges) largest = std::max(largest, e.w);
  const Value absent = std::nextafter(largest, kInf);
  std::vector<Value> sym(static_cast<size_t>(m * m), out.dense_path ? 0.0f : absent);
  for (int64_t i = 0; i < m; ++i) sym[static_cast<size_t>(i * m + i)] = 0;
  for (const Edge& e : edges) {
    sym[static_cast<size_t>(e.i * m + e.j)] = e.w;
    sym[static_cast<size_t>(e.j * m + e.i)] = e.w;
  }
  PersistenceOptions ph;
  ph.max_dim = 1;
  ph.max_points = std::max<int64_t>(m, 1);

  if (out.dense_path) {
    // Dense path: Vietoris–Rips of the full filtration, births 0 (ripser.py's rips_dm).
    ASSIGN_OR_RETURN(PersistenceResult r,
                     ComputePersistence(DistanceMatrixView::Full(sym.data(), m), ph));
    out.dgm0 = r.barcodes.empty() ? std::vector<PersistenceInterval>{} : r.barcodes[0];
    if (m == 1 && out.dgm0.empty()) out.dgm0.push_back({0, kInf});
    if (r.barcodes.size() > 1) out.dgm1 = r.barcodes[1];
  } else {
    std::vector<Value> births(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) births[static_cast<size_t>(i)] = at(i, i);
    out.dgm0 = SparseH0(births, edges);
    if (!edges.empty() && m >= 3) {
      // Absent edges lie above the threshold, so they never enter; classes alive at the largest
      // present value are essential, (w, +∞), as in ripser.py.
      ph.threshold = largest;
      ASSIGN_OR_RETURN(PersistenceResult r,
                       ComputePersistence(DistanceMatrixView::Full(sym.data(), m), ph));
      if (r.barcodes.size() > 1) out.dgm1 = r.barcodes[1];
    }
  }
  SortDiagram(out.dgm0);
  SortDiagram(out.dgm1);
  return out;
}

StatusOr<PaperTopologyResult> ComputePaperTopologyMetrics(const at::Tensor& attention,
                                                          const PaperTopologyOptions& options) {
  RETURN_IF_ERROR(ValidateAttention(attention));
  RETURN_IF_ERROR(ValidateOptions(options));
  const int64_t n = attention.size(-1);
  if (n > options.max_tokens) {
    return ResourceExhaustedError("attention has {} tokens, more than max_tokens = {}", n,
                                  options.max_tokens);
  }
  // Ā in float32, as the notebook's numpy mean over float32 heads (spec §3.3 step 1).
  ASSIGN_OR_RETURN(MatrixBatch batch, SelectMatrices(attention, options.heads, at::kFloat));
  const std::vector<InputHealth> health = CheckFinite(batch.matrices);
  PaperTopologyResult result;
  result.options = options;
  result.num_heads = attention.dim() == 3 ? attention.size(0) : 1;
  result.num_tokens = n;
  for (size_t k = 0; k < batch.heads.size(); ++k) {
    if (!health[k].valid()) {
      result.matrices.push_back(
          InvalidEntry(batch.heads[k], health[k], n, options.density_thresholds.size()));
      continue;
    }
    ASSIGN_OR_RETURN(FloatMatrix a, TorchCall("reading attention", [&] {
                       return ToFloat(batch.matrices[static_cast<int64_t>(k)]);
                     }));
    ASSIGN_OR_RETURN(PaperTopologyMatrixResult entry, AnalyzeMatrix(a, options));
    entry.head = batch.heads[k];
    entry.health = health[k];
    result.matrices.push_back(std::move(entry));
  }
  return result;
}

StatusOr<std::vector<PaperHeadMetrics>> ComputePaperHeadMetrics(const at::Tensor& attention) {
  ASSIGN_OR_RETURN(MatrixBatch batch,
                   SelectMatrices(attention, HeadSelection::kPerHead, at::kFloat));
  const std::vector<InputHealth> health = CheckFinite(batch.matrices);
  std::vector<PaperHeadMetrics> out;
  for (size_t k = 0; k < batch.heads.size(); ++k) {
    PaperHeadMetrics h;
    h.head = batch.heads[k];
    h.health = health[k];
    h.valid = health[k].valid();
    if (!h.valid) {
      h.avg_attention = h.max_attention = h.std_attention = h.entropy = kNaN;
      h.top_strength = h.strongest_value = kNaN;
      out.push_back(h);
      continue;
    }
    ASSIGN_OR_RETURN(FloatMatrix a, TorchCall("reading attention", [&] {
                       return ToFloat(batch.matrices[static_cast<int64_t>(k)]);
                     }));
    const EntryStats stats = Stats(a.a);
    h.avg_attention = stats.mean;
    h.max_attention = stats.max;
    h.std_attention = stats.std;
    double entropy = 0;
    for (float x : a.a) entropy -= static_cast<double>(x) * std::log2(double{x + 1e-10f});
    h.entropy = entropy;
    std::vector<double> column(static_cast<size_t>(a.n), 0.0);
    for (int64_t i = 0; i < a.n; ++i) {
      for (int64_t j = 0; j < a.n; ++j) column[static_cast<size_t>(j)] += a(i, j);
    }
    for (int64_t j = 0; j < a.n; ++j) {
      if (column[static_cast<size_t>(j)] > column[static_cast<size_t>(h.top_idx)]) h.top_idx = j;
    }
    h.top_strength = column[static_cast<size_t>(h.top_idx)] / static_cast<double>(a.n);
    h.strongest_value = a(0, 0);
    for (int64_t i = 0; i < a.n; ++i) {
      for (int64_t j = 0; j < a.n; ++j) {
        if (a(i, j) > h.strongest_value) {
          h.strongest_value = a(i, j);
          h.strongest_source = i;
          h.strongest_target = j;
        }
      }
    }
    out.push_back(h);
  }
  return out;
}

HeadSpecializationResult PaperHeadSpecialization(const std::vector<HeadTopTokens>& heads,
                                                 double min_consistency, int64_t min_total) {
  HeadSpecializationResult result;
  for (const HeadTopTokens& in : heads) {
    // Counts in first-seen order, so ties go to the key seen first (Python's Counter/max).
    std::map<std::string, size_t> slot;
    std::vector<std::pair<std::string, int64_t>> counts;
    for (const std::string& token : in.top_tokens) {
      auto [it, inserted] = slot.emplace(token, counts.size());
      if (inserted) counts.emplace_back(token, 0);
      ++counts[it->second].second;
    }
    HeadSpecialization s;
    s.layer = in.layer;
    s.head = in.head;
    s.total = static_cast<int64_t>(in.top_tokens.size());
    for (const auto& [token, count] : counts) {
      if (count > s.count) {
        s.token = token;
        s.count = count;
      }
    }
    s.consistency = s.total > 0 ? static_cast<double>(s.count) / static_cast<double>(s.total) : 0;
    s.specialized = s.consistency >= min_consistency && s.total >= min_total;
    result.heads.push_back(s);
    if (s.specialized) result.specialized.push_back(s);
  }
  std::stable_sort(result.specialized.begin(), result.specialized.end(),
                   [](const HeadSpecialization& a, const HeadSpecialization& b) {
                     return a.consistency > b.consistency;
                   });
  return result;
}

HeadSpecializationResult PositionClassSpecialization(const std::vector<HeadTopPositions>& heads,
                                                     double min_consistency, int64_t min_total) {
  std::vector<HeadTopTokens> keyed;
  keyed.reserve(heads.size());
  for (const HeadTopPositions& h : heads) {
    HeadTopTokens t{h.layer, h.head, {}};
    for (PositionClass c : h.top_classes) t.top_tokens.emplace_back(PositionClassName(c));
    keyed.push_back(std::move(t));
  }
  return PaperHeadSpecialization(keyed, min_consistency, min_total);
}

}  // namespace sinkscope::analyzers::topology
