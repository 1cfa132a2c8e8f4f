// Vietoris–Rips persistent homology, the Ripser algorithm family.
//
// Reference: U. Bauer, "Ripser: efficient computation of Vietoris–Rips persistence barcodes",
// J. Appl. Comput. Topol. 5 (2021) 391–423, arXiv:1908.02518. Section numbers below are the
// paper's. Written here from the mathematics; the `ripser` program (v1.2.1) is the test oracle.
//
// The ideas, in the order they appear in the code:
//  * Compressed lower-triangular distance matrix: d(i, j), i > j, at offset i(i−1)/2 + j; the
//    diameter of a simplex is its largest edge (flag complex).
//  * Combinatorial number system (§5.1): a k-simplex {v_k > … > v_0} is the integer
//    Σ_i C(v_i, i + 1); vertices are decoded greedily, cofacets are enumerated without
//    materializing the complex (implicit coboundary matrix, §5.2), in decreasing index order.
//  * Filtration order (§2): diameter ascending, ties broken by larger combinatorial index first
//    (reverse colexicographic). Every barcode value is independent of the tie-break; the tie-break
//    only decides which zero-length pairs appear and makes the shortcuts below valid.
//  * Threshold at the enclosing radius r = min_i max_j d(i, j) (§3.4 note): above r the complex
//    is a cone, so all bars of positive length end by r and only one H0 class is infinite.
//  * H0 by union–find over the edges in filtration order (Kruskal); the merging edges are the
//    H0 deaths, the others become the H1 columns.
//  * Persistent cohomology (§3.1–3.2): the coboundary matrix is reduced column by column, from
//    the end of the filtration to its beginning; the pivot of a cocycle is its cofacet that comes
//    first in the filtration. A pair (σ, τ) is the bar [diam σ, diam τ).
//  * Clearing (§3.3, twist): a simplex that was the pivot (death) in dimension k − 1 is never a
//    column in dimension k; its column would reduce to zero.
//  * Emergent pairs (§3.5): if the first cofacet τ of σ has diam τ = diam σ and no column has
//    claimed τ as a pivot yet, the unreduced column is already reduced: (σ, τ) is a zero-length
//    pair found without building the coboundary. Apparent pairs (τ the first cofacet of σ and σ
//    the last facet of τ, equal diameters; §3.6) are emergent pairs whose pivot no earlier column
//    can have claimed (every column reduced before σ comes later than σ, so τ is not in its
//    coboundary), so the same test finds all of them — at the cost of enumerating σ's cofacets
//    up to τ, where ripser instead skips such σ when assembling columns and looks τ's facet up
//    when a pivot is unclaimed.
//  * Implicit reduction matrix (§4): only the reduction matrix V is stored (the simplices added to
//    each column); coboundaries are recomputed from it on demand in a heap, where equal indices
//    cancel (Z/2 coefficients).
//  * Engineering, not mathematics: while simplex indices fit in 32 bits, a (diameter, index) pair
//    is one 64-bit key ordered like the filtration (the heap and the edge sort compare integers);
//    the cofacets of an edge are enumerated in three runs with fixed index formulas; a column's
//    unreduced coboundary is heapified in linear time, and only when it is not an emergent pair.
#include "analyzers/topology/persistent_homology.h"

#include "analyzers/topology/filtration_internal.h"
#include "analyzers/topology/ph_small_rips.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <span>
#include <utility>

namespace sinkscope::analyzers::topology {
namespace {

using internal::BinomialTable;
using internal::CofacetEnumerator;
using internal::Components;
using internal::DiameterIndex;
using internal::Edge;
using internal::EdgeCofacetEnumerator;
using internal::FiltrationKey;
using internal::FitsPackedKey;
using internal::FromFiltrationKey;
using internal::kInfinity;
using internal::PackedWorkingCoboundary;
using internal::PivotMap;
using internal::RipsFiltration;
using internal::SimplexIndex;
using internal::Vertex;
using internal::WorkingCoboundary;

/// The reduction matrix V (§4), column by column: the simplices added to each column.
struct ReductionMatrix {
  std::vector<int64_t> begin{0};
  std::vector<DiameterIndex> entries;
};

/// Adds the coboundary of `simplex` (within the threshold) to the working column.
template <typename Cofacets, typename Coboundary>
void PushCoboundary(const RipsFiltration& rips, const DiameterIndex& simplex, int dim,
                    Coboundary& coboundary) {
  Cofacets cofacets(rips, simplex, dim);
  DiameterIndex cofacet;
  while (cofacets.Next(&cofacet)) coboundary.Push(cofacet);
}

/// Reduces the columns (dimension `dim`, in reduction order) of the coboundary matrix. Bars of
/// positive length and infinite bars go to `bars`; each death simplex is recorded in `pivots`.
template <typename Cofacets, typename Coboundary>
void ReduceCoboundaryMatrix(const RipsFiltration& rips, const std::vector<DiameterIndex>& columns,
                            int dim, PivotMap& pivots, std::vector<PersistenceInterval>& bars,
                            int64_t& num_emergent) {
  ReductionMatrix reduction;
  Coboundary coboundary;
  std::vector<DiameterIndex> added;      // simplices added to the current column (with repeats)
  std::vector<DiameterIndex> unreduced;  // δσ as enumerated
  for (size_t j = 0; j < columns.size(); ++j) {
    const DiameterIndex sigma = columns[j];
    added.clear();
    unreduced.clear();

    // Build δσ; stop early at an emergent pair (§3.5).
    DiameterIndex pivot{0, -1};
    bool emergent = false;
    {
      Cofacets cofacets(rips, sigma, dim);
      DiameterIndex cofacet;
      bool may_be_emergent = true;
      while (cofacets.Next(&cofacet)) {
        if (may_be_emergent && cofacet.diameter == sigma.diameter) {
          if (!pivots.Contains(cofacet.index)) {
            pivot = cofacet;
            emergent = true;
            break;
          }
          may_be_emergent = false;
        }
        unreduced.push_back(cofacet);
      }
    }
    // Most columns end at an emergent pair; the others get their heap built in linear time.
    if (!emergent) coboundary.Assign(unreduced);
    if (emergent) {
      ++num_emergent;
    } else {
      pivot = coboundary.Pivot();
      for (;;) {
        if (pivot.index == -1) break;
        int64_t other = pivots.Find(pivot.index);
        if (other == -1) break;
        // Column j += column `other`: add σ_other and its reduction column, and their coboundaries.
        added.push_back(columns[other]);
        PushCoboundary<Cofacets>(rips, columns[other], dim, coboundary);
        for (int64_t e = reduction.begin[other]; e < reduction.begin[other + 1]; ++e) {
          added.push_back(reduction.entries[e]);
          PushCoboundary<Cofacets>(rips, reduction.entries[e], dim, coboundary);
        }
        pivot = coboundary.Pivot();
      }
    }

    if (pivot.index == -1) {
      bars.push_back({sigma.diameter, kInfinity});  // an essential class
    } else {
      if (pivot.diameter > sigma.diameter) bars.push_back({sigma.diameter, pivot.diameter});
      pivots.Insert(pivot.index, static_cast<int64_t>(j));
    }

    // Store column j of V modulo 2: simplices added an odd number of times.
    std::sort(added.begin(), added.end(),
              [](const DiameterIndex& a, const DiameterIndex& b) { return a.index < b.index; });
    for (size_t a = 0; a < added.size();) {
      size_t b = a;
      while (b < added.size() && added[b].index == added[a].index) ++b;
      if ((b - a) % 2 == 1) reduction.entries.push_back(added[a]);
      a = b;
    }
    reduction.begin.push_back(static_cast<int64_t>(reduction.entries.size()));
  }
}

/// Sorts edges listed in decreasing index order into filtration order (diameter ascending, ties
/// in listing order): a stable LSD radix sort, one byte per pass, of 8-byte words `diameter bits
/// << 32 | i << 16 | j` on their upper half only, skipping bytes that all edges share. Profiling
/// small matrices showed std::sort's comparisons at ~13 % of the time for n = 64; this is linear,
/// and ties (common in attention distances) cost nothing. One read pass fills the histograms of
/// all four bytes, and the words are half the size of an Edge (the sort was ~20 % of the time of
/// point clouds at n = 64 with 16-byte edges and a histogram pass per byte).
void SortEdgeWords(std::vector<uint64_t>& words, std::vector<uint64_t>& buffer) {
  uint32_t count[4][257] = {};
  uint32_t all_and = ~0u, all_or = 0;
  for (const uint64_t word : words) {
    const uint32_t bits = static_cast<uint32_t>(word >> 32);
    all_and &= bits;
    all_or |= bits;
    ++count[0][(bits & 0xFF) + 1];
    ++count[1][(bits >> 8 & 0xFF) + 1];
    ++count[2][(bits >> 16 & 0xFF) + 1];
    ++count[3][(bits >> 24) + 1];
  }
  buffer.resize(words.size());
  for (int pass = 0; pass < 4; ++pass) {
    const int shift = 32 + 8 * pass;
    if (((all_and ^ all_or) >> (8 * pass) & 0xFF) == 0) continue;  // a constant byte
    uint32_t* start = count[pass];
    for (int b = 0; b < 256; ++b) start[b + 1] += start[b];
    for (const uint64_t word : words) buffer[start[(word >> shift) & 0xFF]++] = word;
    words.swap(buffer);
  }
}

Status Validate(const DistanceMatrixView& d, const PersistenceOptions& options) {
  if (options.max_dim < 0 || options.max_dim > 2) {
    return InvalidArgumentError("max_dim must be 0, 1 or 2, got {}", options.max_dim);
  }
  if (std::isnan(options.threshold)) return InvalidArgumentError("threshold is NaN");
  if (options.max_points < 0 || options.max_points > kMaxPointsLimit) {
    return InvalidArgumentError("max_points must be in [0, {}], got {}", kMaxPointsLimit,
                                options.max_points);
  }
  if (d.rows != d.cols || d.rows < 0) {
    return InvalidArgumentError("distance matrix must be square, got {}x{}", d.rows, d.cols);
  }
  const int64_t n = d.rows;
  if (n > options.max_points) {
    return ResourceExhaustedError("distance matrix has {} points, more than the limit of {}", n,
                                  options.max_points);
  }
  if (options.max_dim >= 2 && n > kMaxPointsForDim2) {
    return ResourceExhaustedError(
        "max_dim 2 on {} points: H2 is limited to {} points (all triangles are columns)", n,
        kMaxPointsForDim2);
  }
  if (n > 0 && d.data == nullptr) return InvalidArgumentError("distance matrix has no data");
  if (d.layout == DistanceMatrixView::Layout::kFull && n > 0 && d.row_stride != 0 &&
      d.row_stride < n) {
    return InvalidArgumentError("row stride {} is less than the {} columns", d.row_stride, n);
  }
  // Every entry is checked for finiteness; the lower triangle (the entries used) for sign. A
  // first pass without branches tells whether any entry is bad (the branchy counting pass was
  // ~4 % of the time of small matrices); only then are they counted and located.
  {
    constexpr Value kMax = std::numeric_limits<Value>::max();
    bool all_good = true;  // NaN fails every comparison
    if (d.layout == DistanceMatrixView::Layout::kFull) {
      const int64_t stride = d.row_stride == 0 ? n : d.row_stride;
      for (int64_t i = 0; i < n; ++i) {
        const Value* row = d.data + i * stride;
        for (int64_t j = 0; j < i; ++j) all_good &= (row[j] >= 0) & (row[j] <= kMax);
        for (int64_t j = i; j < n; ++j) all_good &= std::fabs(row[j]) <= kMax;
      }
    } else {
      for (int64_t k = 0; k < n * (n - 1) / 2; ++k) {
        all_good &= (d.data[k] >= 0) & (d.data[k] <= kMax);
      }
    }
    if (all_good) return OkStatus();
  }
  int64_t num_nan = 0, num_inf = 0, num_negative = 0;
  int64_t first_i = -1, first_j = -1;
  auto check = [&](Value v, int64_t i, int64_t j, bool used) {
    bool bad = false;
    if (std::isnan(v)) {
      ++num_nan;
      bad = true;
    } else if (std::isinf(v)) {
      ++num_inf;
      bad = true;
    } else if (used && v < 0) {
      ++num_negative;
      bad = true;
    }
    if (bad && first_i < 0) {
      first_i = i;
      first_j = j;
    }
  };
  if (d.layout == DistanceMatrixView::Layout::kFull) {
    const int64_t stride = d.row_stride == 0 ? n : d.row_stride;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) check(d.data[i * stride + j], i, j, j < i);
    }
  } else {
    for (int64_t i = 1, k = 0; i < n; ++i) {
      for (int64_t j = 0; j < i; ++j) check(d.data[k++], i, j, true);
    }
  }
  if (num_nan + num_inf + num_negative > 0) {
    return InvalidArgumentError(
        "distance matrix {}x{} has {} NaN, {} infinite and {} negative entries (first at row "
        "{}, column {})",
        n, n, num_nan, num_inf, num_negative, first_i, first_j);
  }
  return OkStatus();
}

}  // namespace

PersistenceWorkspace::PersistenceWorkspace() : buffers_(std::make_unique<internal::Workspace>()) {}
PersistenceWorkspace::~PersistenceWorkspace() = default;
PersistenceWorkspace::PersistenceWorkspace(PersistenceWorkspace&&) noexcept = default;
PersistenceWorkspace& PersistenceWorkspace::operator=(PersistenceWorkspace&&) noexcept = default;

StatusOr<PersistenceResult> ComputePersistence(const DistanceMatrixView& distances,
                                               const PersistenceOptions& options,
                                               PersistenceWorkspace* workspace) {
  RETURN_IF_ERROR(Validate(distances, options));
  const Vertex n = distances.rows;
  std::optional<PersistenceWorkspace> own_workspace;
  if (workspace == nullptr) workspace = &own_workspace.emplace();
  internal::Workspace& ws = workspace->buffers();

  PersistenceResult result;
  result.num_points = n;
  result.max_dim = options.max_dim;
  result.threshold = options.threshold;
  result.barcodes.resize(options.max_dim + 1);
  result.num_columns.assign(options.max_dim + 1, 0);
  result.num_emergent_pairs.assign(options.max_dim + 1, 0);

  // Compressed lower-triangular copy.
  std::vector<Value>& lower = ws.lower;
  lower.resize(static_cast<size_t>(n * (n - 1) / 2));
  if (distances.layout == DistanceMatrixView::Layout::kFull) {
    const int64_t stride = distances.row_stride == 0 ? n : distances.row_stride;
    for (Vertex i = 1, k = 0; i < n; ++i) {
      for (Vertex j = 0; j < i; ++j) lower[k++] = distances.data[i * stride + j];
    }
  } else if (!lower.empty()) {
    std::copy(distances.data, distances.data + lower.size(), lower.begin());
  }
  // −0 becomes +0 (x + 0 = x otherwise), so that a diameter's bits order like its value.
  for (Value& v : lower) v += 0.0f;

  // Enclosing radius: min over i of the largest distance from i (d(i, i) = 0 included).
  Value enclosing_radius = n == 0 ? 0 : kInfinity;
  {
    std::vector<Value>& eccentricity = ws.eccentricity;
    eccentricity.assign(static_cast<size_t>(n), 0);
    // Row i of the lower triangle updates the columns j < i element-wise (vectorizable), and its
    // own maximum in 8 independent lanes (no loop-carried max chain): at n = 64 the one-loop form
    // was ~5 % of a small matrix's time.
    for (Vertex i = 1, k = 0; i < n; k += i, ++i) {
      const Value* row = lower.data() + k;
      Value* column = eccentricity.data();
      for (Vertex j = 0; j < i; ++j) column[j] = column[j] < row[j] ? row[j] : column[j];
      Value lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      Vertex j = 0;
      for (; j + 8 <= i; j += 8) {
        for (int l = 0; l < 8; ++l) lanes[l] = lanes[l] < row[j + l] ? row[j + l] : lanes[l];
      }
      for (; j < i; ++j) lanes[0] = lanes[0] < row[j] ? row[j] : lanes[0];
      for (int l = 0; l < 8; ++l) {
        eccentricity[i] = eccentricity[i] < lanes[l] ? lanes[l] : eccentricity[i];
      }
    }
    for (Value e : eccentricity) enclosing_radius = std::min(enclosing_radius, e);
  }
  result.enclosing_radius = enclosing_radius;
  const Value threshold = std::min(options.threshold, enclosing_radius);
  result.threshold_used = threshold;
  if (n == 0) return result;

  const int top_dim = static_cast<int>(std::min<int64_t>(options.max_dim, n - 2));
  RipsFiltration rips(std::move(lower), n, threshold, std::max(top_dim, 0));

  // H0: Kruskal on the edges in filtration order. Edge {i > j} has index C(i, 2) + j, which is
  // its offset in the compressed matrix.
  // Sorted as one 64-bit key each (diameter bits, then the inverted index: the filtration order;
  // n ≤ kMaxPointsLimit keeps every edge index below 2³²), with the vertices alongside.
  std::vector<uint64_t>& words = ws.edge_words;
  words.resize(static_cast<size_t>(n * (n - 1) / 2));
  size_t num_edges = 0;
  for (Vertex i = n - 1; i >= 1; --i) {  // decreasing index: the tie-break of SortEdgeWords
    for (Vertex j = i - 1; j >= 0; --j) {
      const Value d = rips.DistanceBelow(i, j);
      uint32_t bits;
      std::memcpy(&bits, &d, sizeof(bits));
      words[num_edges] = uint64_t{bits} << 32 | static_cast<uint64_t>(i << 16 | j);
      num_edges += d <= threshold ? 1 : 0;  // written always, kept if within the threshold
    }
  }
  words.resize(num_edges);
  result.num_edges = static_cast<int64_t>(num_edges);
  SortEdgeWords(words, ws.edge_word_buffer);
  std::vector<Edge>& edges = ws.edges;
  edges.resize(num_edges);
  Components& components = ws.components;
  components.Reset(n);
  std::vector<DiameterIndex>& columns = ws.columns;  // H1 columns: edges that close a cycle
  columns.clear();
  for (size_t k = 0; k < num_edges; ++k) {
    const uint32_t i = static_cast<uint32_t>(words[k] >> 16 & 0xFFFF);
    const uint32_t j = static_cast<uint32_t>(words[k] & 0xFFFF);
    const int64_t index = int64_t{i} * (i - 1) / 2 + j;
    edges[k] = {(words[k] & 0xFFFFFFFF00000000ull) | (0xFFFFFFFFull - static_cast<uint64_t>(index)),
                i, j};
    const DiameterIndex e = FromFiltrationKey(edges[k].key);
    if (!components.Same(i, j)) {
      if (e.diameter > 0) result.barcodes[0].push_back({0, e.diameter});
      components.Merge(i, j);
    } else if (top_dim >= 1) {
      columns.push_back(e);
    }
  }
  for (Vertex v = 0; v < n; ++v) {
    if (components.IsRepresentative(v)) result.barcodes[0].push_back({0, kInfinity});
  }

  // H1 (and H2): cohomology in reduction order (reverse filtration order), with clearing.
  std::reverse(columns.begin(), columns.end());
  for (int dim = 1; dim <= top_dim; ++dim) {
    PivotMap pivots;  // sized below where used (the small path has its own)
    result.num_columns[dim] = static_cast<int64_t>(columns.size());
    std::vector<PersistenceInterval>& bars = result.barcodes[dim];
    int64_t& emergent = result.num_emergent_pairs[dim];
    const bool packed = FitsPackedKey(rips, dim);
    if (dim == 1 && top_dim == 1 && n <= internal::kSmallRipsMaxPoints) {
      // Few points: bitset columns over ranked triangles (ph_small_rips.cc); H2 would need the
      // pivots by index for clearing, so only when H1 is the top dimension.
      if (ws.small == nullptr) ws.small = internal::NewSmallRipsWorkspace();
      // At the enclosing radius r the complex is a cone (the centre is adjacent to every point),
      // so H1 there is 0: every class alive just below r dies at r, and a class born at r has
      // length 0. The H1 bars are those of the filtration without the edges of diameter r, with
      // the essential bars ending at r. The edges of diameter r are the last group of `edges` and
      // the first columns; attention distances 1 − max(A, Aᵀ) often tie there (A rounds to 0).
      std::span<const Edge> reduced(edges);
      size_t skipped_columns = 0;
      const bool cone = threshold == enclosing_radius;
      if (cone) {
        while (!reduced.empty() && FromFiltrationKey(reduced.back().key).diameter == threshold) {
          reduced = reduced.first(reduced.size() - 1);
        }
        while (skipped_columns < columns.size() && columns[skipped_columns].diameter == threshold) {
          ++skipped_columns;
        }
        columns.erase(columns.begin(), columns.begin() + static_cast<int64_t>(skipped_columns));
        result.num_columns[dim] = static_cast<int64_t>(columns.size());
      }
      const size_t first_bar = bars.size();
      internal::ReduceH1Small(rips, reduced, columns, *ws.small, bars, emergent);
      if (cone) {
        for (size_t k = first_bar; k < bars.size(); ++k) {
          if (bars[k].death == kInfinity) bars[k].death = threshold;
        }
      }
    } else if (dim == 1 && packed) {
      pivots.Reset(columns.size());
      ReduceCoboundaryMatrix<EdgeCofacetEnumerator, PackedWorkingCoboundary>(
          rips, columns, dim, pivots, bars, emergent);
    } else if (dim == 1) {
      pivots.Reset(columns.size());
      ReduceCoboundaryMatrix<EdgeCofacetEnumerator, WorkingCoboundary>(rips, columns, dim, pivots,
                                                                       bars, emergent);
    } else if (packed) {
      pivots.Reset(columns.size());
      ReduceCoboundaryMatrix<CofacetEnumerator, PackedWorkingCoboundary>(rips, columns, dim, pivots,
                                                                         bars, emergent);
    } else {
      pivots.Reset(columns.size());
      ReduceCoboundaryMatrix<CofacetEnumerator, WorkingCoboundary>(rips, columns, dim, pivots, bars,
                                                                   emergent);
    }
    if (dim == top_dim) break;
    // Next columns: all triangles within the threshold that are not H1 deaths (clearing). Each is
    // a cofacet of its edge {v2 > v1} by a vertex below v1.
    std::vector<DiameterIndex> next;
    const BinomialTable& binomial = rips.binomial();
    for (const Edge& edge : edges) {
      const DiameterIndex e = FromFiltrationKey(edge.key);
      const Vertex a = edge.i, b = edge.j;
      const SimplexIndex above = binomial(a, 3) + binomial(b, 2);
      for (Vertex w = b - 1; w >= 0; --w) {
        Value diameter = std::max({e.diameter, rips.Distance(a, w), rips.Distance(b, w)});
        if (diameter > threshold) continue;
        SimplexIndex index = above + w;
        if (!pivots.Contains(index)) next.push_back({diameter, index});
      }
    }
    // Reduction order: later in the filtration first.
    std::sort(next.begin(), next.end(), [](const DiameterIndex& a, const DiameterIndex& b) {
      return LaterInFiltration(a, b);
    });
    columns = std::move(next);
  }
  ws.lower = std::move(rips).ReleaseDistances();
  return result;
}

}  // namespace sinkscope::analyzers::topology
