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

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <utility>

namespace sinkscope::analyzers::topology {
namespace {

/// Combinatorial index of a simplex (§5.1).
using SimplexIndex = int64_t;
/// Number of points / a vertex.
using Vertex = int64_t;

constexpr Value kInfinity = std::numeric_limits<Value>::infinity();

struct DiameterIndex {
  Value diameter;
  SimplexIndex index;
};

/// True if a enters the filtration after b: larger diameter, or equal diameter and smaller index.
inline bool LaterInFiltration(const DiameterIndex& a, const DiameterIndex& b) {
  return a.diameter > b.diameter || (a.diameter == b.diameter && a.index < b.index);
}
/// A 64-bit key ordered like the filtration (smaller key = earlier): the diameter's bits (those
/// of a non-negative float order like its value) above 2³² − 1 − index. Needs index < 2³².
inline uint64_t FiltrationKey(const DiameterIndex& entry) {
  uint32_t bits;
  std::memcpy(&bits, &entry.diameter, sizeof(bits));
  return (uint64_t{bits} << 32) | (0xFFFFFFFFull - static_cast<uint64_t>(entry.index));
}
inline DiameterIndex FromFiltrationKey(uint64_t key) {
  const uint32_t bits = static_cast<uint32_t>(key >> 32);
  DiameterIndex entry;
  std::memcpy(&entry.diameter, &bits, sizeof(bits));
  entry.index = static_cast<SimplexIndex>(0xFFFFFFFFull - (key & 0xFFFFFFFFull));
  return entry;
}

/// An edge {i > j} of the filtration with its key.
struct Edge {
  uint64_t key;
  uint32_t i;
  uint32_t j;
};

/// The same as a function object, so that heap and sort calls inline it.
struct LaterInFiltrationOrder {
  bool operator()(const DiameterIndex& a, const DiameterIndex& b) const {
    return LaterInFiltration(a, b);
  }
};

/// C(m, k) for 0 ≤ m ≤ n, 0 ≤ k ≤ k_max.
class BinomialTable {
 public:
  BinomialTable(Vertex n, int k_max) : stride_(n + 1), table_((k_max + 1) * (n + 1), 0) {
    for (Vertex m = 0; m <= n; ++m) table_[m] = 1;
    for (int k = 1; k <= k_max; ++k) {
      for (Vertex m = 1; m <= n; ++m) {
        table_[k * stride_ + m] = table_[(k - 1) * stride_ + m - 1] + table_[k * stride_ + m - 1];
      }
    }
  }
  SimplexIndex operator()(Vertex m, int k) const { return table_[k * stride_ + m]; }

 private:
  int64_t stride_;
  std::vector<SimplexIndex> table_;
};

/// The Vietoris–Rips filtration up to `threshold` on a compressed lower-triangular matrix.
class RipsFiltration {
 public:
  RipsFiltration(std::vector<Value> lower, Vertex n, Value threshold, int max_dim)
      : lower_(std::move(lower)), row_(n), n_(n), threshold_(threshold), binomial_(n, max_dim + 2) {
    for (Vertex i = 0; i < n; ++i) row_[i] = i * (i - 1) / 2;
  }

  Vertex num_points() const { return n_; }
  Value threshold() const { return threshold_; }
  const BinomialTable& binomial() const { return binomial_; }

  Value Distance(Vertex i, Vertex j) const {
    if (i == j) return 0;
    if (i < j) std::swap(i, j);
    return lower_[row_[i] + j];
  }
  /// d(i, j) for i > j.
  Value DistanceBelow(Vertex i, Vertex j) const { return lower_[row_[i] + j]; }

  /// Writes the dim + 1 vertices of a simplex, largest first.
  void GetVertices(SimplexIndex index, int dim, Vertex* out) const {
    if (dim == 1) {  // i = ⌊(1 + √(1 + 8·index))/2⌋, corrected for rounding
      Vertex i = static_cast<Vertex>((1.0 + std::sqrt(1.0 + 8.0 * static_cast<double>(index))) / 2);
      i = std::min(i, n_ - 1);
      while (binomial_(i, 2) > index) --i;
      while (i + 1 < n_ && binomial_(i + 1, 2) <= index) ++i;
      out[0] = i;
      out[1] = index - binomial_(i, 2);
      return;
    }
    Vertex top = n_;
    for (int k = dim + 1; k >= 1; --k) {
      // Largest v < top with C(v, k) ≤ index (binary search; C(·, k) is increasing).
      Vertex lo = k - 1, hi = top - 1;
      while (lo < hi) {
        Vertex mid = hi - (hi - lo) / 2;
        if (binomial_(mid, k) <= index) {
          lo = mid;
        } else {
          hi = mid - 1;
        }
      }
      *out++ = lo;
      index -= binomial_(lo, k);
      top = lo;
    }
  }

 private:
  std::vector<Value> lower_;
  std::vector<int64_t> row_;  // offset of row i in lower_: C(i, 2)
  Vertex n_;
  Value threshold_;
  BinomialTable binomial_;
};

/// Enumerates the cofacets σ ∪ {w} of a simplex σ within the threshold, in decreasing index
/// order (w from n − 1 down to 0), without materializing the coboundary (§5.2).
class CofacetEnumerator {
 public:
  CofacetEnumerator(const RipsFiltration& rips, DiameterIndex simplex, int dim)
      : rips_(rips),
        simplex_(simplex),
        dim_(dim),
        w_(rips.num_points() - 1),
        index_below_(simplex.index) {
    rips.GetVertices(simplex.index, dim, vertices_);
  }

  /// The next cofacet of diameter ≤ threshold; false when there are none left.
  [[gnu::always_inline]] bool Next(DiameterIndex* cofacet) {
    const BinomialTable& binomial = rips_.binomial();
    for (; w_ >= 0; --w_) {
      if (above_ <= dim_ && w_ == vertices_[above_]) {
        // w passes a vertex of σ: that vertex moves one position up in the cofacet.
        index_below_ -= binomial(w_, dim_ + 1 - above_);
        index_above_ += binomial(w_, dim_ + 2 - above_);
        ++above_;
        continue;
      }
      // Vertices 0..above_−1 of σ are greater than w, the others smaller.
      Value diameter = simplex_.diameter;
      for (int i = 0; i < above_; ++i) {
        diameter = std::max(diameter, rips_.DistanceBelow(vertices_[i], w_));
      }
      for (int i = above_; i <= dim_; ++i) {
        diameter = std::max(diameter, rips_.DistanceBelow(w_, vertices_[i]));
      }
      if (diameter > rips_.threshold()) continue;
      cofacet->diameter = diameter;
      cofacet->index = index_above_ + binomial(w_, dim_ + 2 - above_) + index_below_;
      --w_;
      return true;
    }
    return false;
  }

 private:
  const RipsFiltration& rips_;
  DiameterIndex simplex_;
  int dim_;
  Vertex w_;
  int above_ = 0;  // vertices of σ greater than w
  SimplexIndex index_above_ = 0;
  SimplexIndex index_below_;
  Vertex vertices_[4] = {0, 0, 0, 0};
};

/// CofacetEnumerator specialized to edges (dim 1), the hot loop of H1: the triangles
/// {a, b, w} for w from n − 1 down to 0 in three runs — w above a, between b and a, below b —
/// each with its index formula and distance rows fixed.
class EdgeCofacetEnumerator {
 public:
  EdgeCofacetEnumerator(const RipsFiltration& rips, DiameterIndex edge, int /*dim*/)
      : rips_(rips),
        binomial_(rips.binomial()),
        diameter_(edge.diameter),
        threshold_(rips.threshold()),
        w_(rips.num_points() - 1) {
    Vertex v[2];
    rips.GetVertices(edge.index, 1, v);
    a_ = v[0];
    b_ = v[1];
  }

  [[gnu::always_inline]] bool Next(DiameterIndex* cofacet) {
    for (; w_ > a_; --w_) {  // {w > a > b}: C(w, 3) + C(a, 2) + b
      Value d = std::max({diameter_, rips_.DistanceBelow(w_, a_), rips_.DistanceBelow(w_, b_)});
      if (d > threshold_) continue;
      *cofacet = {d, binomial_(w_, 3) + binomial_(a_, 2) + b_};
      --w_;
      return true;
    }
    if (w_ == a_) --w_;
    for (; w_ > b_; --w_) {  // {a > w > b}: C(a, 3) + C(w, 2) + b
      Value d = std::max({diameter_, rips_.DistanceBelow(a_, w_), rips_.DistanceBelow(w_, b_)});
      if (d > threshold_) continue;
      *cofacet = {d, binomial_(a_, 3) + binomial_(w_, 2) + b_};
      --w_;
      return true;
    }
    if (w_ == b_) --w_;
    for (; w_ >= 0; --w_) {  // {a > b > w}: C(a, 3) + C(b, 2) + w
      Value d = std::max({diameter_, rips_.DistanceBelow(a_, w_), rips_.DistanceBelow(b_, w_)});
      if (d > threshold_) continue;
      *cofacet = {d, binomial_(a_, 3) + binomial_(b_, 2) + w_};
      --w_;
      return true;
    }
    return false;
  }

 private:
  const RipsFiltration& rips_;
  const BinomialTable& binomial_;
  Value diameter_;
  Value threshold_;
  Vertex w_;
  Vertex a_ = 0;
  Vertex b_ = 0;
};

/// Pivot simplex → column that owns it; open addressing with linear probing.
class PivotMap {
 public:
  explicit PivotMap(size_t expected) {
    size_t capacity = 16;
    while (capacity < 2 * expected + 1) capacity *= 2;
    keys_.assign(capacity, -1);
    values_.resize(capacity);
  }
  /// The column with this pivot, or −1.
  int64_t Find(SimplexIndex key) const {
    for (size_t slot = Slot(key);; slot = (slot + 1) & (keys_.size() - 1)) {
      if (keys_[slot] == key) return values_[slot];
      if (keys_[slot] == -1) return -1;
    }
  }
  bool Contains(SimplexIndex key) const { return Find(key) != -1; }
  void Insert(SimplexIndex key, int64_t value) {
    if (2 * (size_ + 1) > keys_.size()) Grow();
    size_t slot = Slot(key);
    while (keys_[slot] != -1 && keys_[slot] != key) slot = (slot + 1) & (keys_.size() - 1);
    if (keys_[slot] == -1) ++size_;
    keys_[slot] = key;
    values_[slot] = value;
  }

 private:
  size_t Slot(SimplexIndex key) const {
    uint64_t h = static_cast<uint64_t>(key) * 0x9E3779B97F4A7C15ull;
    return static_cast<size_t>(h >> 32) & (keys_.size() - 1);
  }
  void Grow() {
    std::vector<SimplexIndex> keys = std::move(keys_);
    std::vector<int64_t> values = std::move(values_);
    keys_.assign(keys.size() * 2, -1);
    values_.assign(keys.size() * 2, 0);
    size_ = 0;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] != -1) Insert(keys[i], values[i]);
    }
  }
  std::vector<SimplexIndex> keys_;
  std::vector<int64_t> values_;
  size_t size_ = 0;
};

/// Min-heap of cofacets: top() is the one that comes first in the filtration. With Z/2
/// coefficients two equal entries cancel; Pivot() removes such pairs from the top.
/// (Used when cofacet indices may exceed 32 bits; PackedWorkingCoboundary otherwise.)
class WorkingCoboundary {
 public:
  /// Replaces the column by these entries (distinct simplices).
  void Assign(const std::vector<DiameterIndex>& entries) {
    heap_.assign(entries.begin(), entries.end());
    std::make_heap(heap_.begin(), heap_.end(), LaterInFiltrationOrder());
  }
  void Push(const DiameterIndex& entry) {
    heap_.push_back(entry);
    std::push_heap(heap_.begin(), heap_.end(), LaterInFiltrationOrder());
  }
  /// The pivot (lowest nonzero entry) of the column, or index −1 for a zero column.
  DiameterIndex Pivot() {
    while (!heap_.empty()) {
      DiameterIndex top = heap_.front();
      std::pop_heap(heap_.begin(), heap_.end(), LaterInFiltrationOrder());
      heap_.pop_back();
      if (!heap_.empty() && heap_.front().index == top.index) {
        std::pop_heap(heap_.begin(), heap_.end(), LaterInFiltrationOrder());
        heap_.pop_back();
        continue;
      }
      Push(top);
      return top;
    }
    return {0, -1};
  }

 private:
  std::vector<DiameterIndex> heap_;
};

/// The same heap over one 64-bit key per cofacet: the diameter's bits (a non-negative float's
/// bits order like the float) above 2³² − 1 − index, so the smallest key is the first in the
/// filtration. Half the memory traffic and a single-integer comparison; valid while every
/// cofacet index is below 2³² (see FitsPackedKey).
class PackedWorkingCoboundary {
 public:
  void Assign(const std::vector<DiameterIndex>& entries) {
    heap_.clear();
    for (const DiameterIndex& entry : entries) heap_.push_back(Key(entry));
    std::make_heap(heap_.begin(), heap_.end(), std::greater<uint64_t>());
  }
  void Push(const DiameterIndex& entry) {
    heap_.push_back(Key(entry));
    std::push_heap(heap_.begin(), heap_.end(), std::greater<uint64_t>());
  }
  DiameterIndex Pivot() {
    while (!heap_.empty()) {
      const uint64_t top = heap_.front();
      // The second smallest key of a binary heap is one of the root's children: if it equals
      // the root the two cancel, otherwise the root is the pivot and the heap stays as it is.
      const size_t size = heap_.size();
      const uint64_t second = size >= 3   ? std::min(heap_[1], heap_[2])
                              : size == 2 ? heap_[1]
                                          : ~top;
      if (second == top) {
        std::pop_heap(heap_.begin(), heap_.end(), std::greater<uint64_t>());
        heap_.pop_back();
        std::pop_heap(heap_.begin(), heap_.end(), std::greater<uint64_t>());
        heap_.pop_back();
        continue;
      }
      return FromFiltrationKey(top);
    }
    return {0, -1};
  }

 private:
  static uint64_t Key(const DiameterIndex& entry) { return FiltrationKey(entry); }
  std::vector<uint64_t> heap_;
};

/// True if every cofacet of a dim-simplex on n points has an index below 2³² − 1.
bool FitsPackedKey(const RipsFiltration& rips, int dim) {
  return rips.binomial()(rips.num_points(), dim + 2) < static_cast<SimplexIndex>(0xFFFFFFFFll);
}

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

/// Union–find with path halving and union by size.
class UnionFind {
 public:
  explicit UnionFind(Vertex n) : parent_(n), size_(n, 1) {
    std::iota(parent_.begin(), parent_.end(), Vertex{0});
  }
  Vertex Find(Vertex v) {
    while (parent_[v] != v) {
      parent_[v] = parent_[parent_[v]];
      v = parent_[v];
    }
    return v;
  }
  void Link(Vertex a, Vertex b) {
    if (size_[a] < size_[b]) std::swap(a, b);
    parent_[b] = a;
    size_[a] += size_[b];
  }

 private:
  std::vector<Vertex> parent_;
  std::vector<Vertex> size_;
};

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
  // Every entry is checked for finiteness; the lower triangle (the entries used) for sign.
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

StatusOr<PersistenceResult> ComputePersistence(const DistanceMatrixView& distances,
                                               const PersistenceOptions& options) {
  RETURN_IF_ERROR(Validate(distances, options));
  const Vertex n = distances.rows;

  PersistenceResult result;
  result.num_points = n;
  result.max_dim = options.max_dim;
  result.threshold = options.threshold;
  result.barcodes.resize(options.max_dim + 1);
  result.num_columns.assign(options.max_dim + 1, 0);
  result.num_emergent_pairs.assign(options.max_dim + 1, 0);

  // Compressed lower-triangular copy.
  std::vector<Value> lower(static_cast<size_t>(n * (n - 1) / 2));
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
    std::vector<Value> eccentricity(n, 0);
    for (Vertex i = 1, k = 0; i < n; ++i) {
      for (Vertex j = 0; j < i; ++j, ++k) {
        eccentricity[i] = std::max(eccentricity[i], lower[k]);
        eccentricity[j] = std::max(eccentricity[j], lower[k]);
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
  std::vector<Edge> edges;
  for (Vertex i = 1, k = 0; i < n; ++i) {
    for (Vertex j = 0; j < i; ++j, ++k) {
      Value d = rips.DistanceBelow(i, j);
      if (d <= threshold) {
        edges.push_back(
            {FiltrationKey({d, k}), static_cast<uint32_t>(i), static_cast<uint32_t>(j)});
      }
    }
  }
  result.num_edges = static_cast<int64_t>(edges.size());
  std::sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) { return a.key < b.key; });
  UnionFind components(n);
  std::vector<DiameterIndex> columns;  // H1 columns: edges that close a cycle
  for (const Edge& edge : edges) {
    const DiameterIndex e = FromFiltrationKey(edge.key);
    Vertex u = components.Find(edge.i), v = components.Find(edge.j);
    if (u != v) {
      if (e.diameter > 0) result.barcodes[0].push_back({0, e.diameter});
      components.Link(u, v);
    } else if (top_dim >= 1) {
      columns.push_back(e);
    }
  }
  for (Vertex v = 0; v < n; ++v) {
    if (components.Find(v) == v) result.barcodes[0].push_back({0, kInfinity});
  }

  // H1 (and H2): cohomology in reduction order (reverse filtration order), with clearing.
  std::reverse(columns.begin(), columns.end());
  for (int dim = 1; dim <= top_dim; ++dim) {
    PivotMap pivots(columns.size());
    result.num_columns[dim] = static_cast<int64_t>(columns.size());
    std::vector<PersistenceInterval>& bars = result.barcodes[dim];
    int64_t& emergent = result.num_emergent_pairs[dim];
    const bool packed = FitsPackedKey(rips, dim);
    if (dim == 1 && packed) {
      ReduceCoboundaryMatrix<EdgeCofacetEnumerator, PackedWorkingCoboundary>(
          rips, columns, dim, pivots, bars, emergent);
    } else if (dim == 1) {
      ReduceCoboundaryMatrix<EdgeCofacetEnumerator, WorkingCoboundary>(rips, columns, dim, pivots,
                                                                       bars, emergent);
    } else if (packed) {
      ReduceCoboundaryMatrix<CofacetEnumerator, PackedWorkingCoboundary>(rips, columns, dim, pivots,
                                                                         bars, emergent);
    } else {
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
  return result;
}

}  // namespace sinkscope::analyzers::topology
