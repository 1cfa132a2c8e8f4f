// Module-private pieces of analyzers/topology/persistent_homology.cc: the Vietoris–Rips
// filtration in the combinatorial number system (Bauer 2021, §5), cofacet enumeration (implicit
// coboundaries), and the containers of the reduction (pivot map, working coboundary heaps). See the
// header comment of persistent_homology.cc for the ideas and their sections.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <utility>
#include <vector>

#include "analyzers/topology/persistent_homology.h"

namespace sinkscope::analyzers::topology::internal {

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
  /// Hands the distance buffer back (to a workspace); the filtration is unusable afterwards.
  std::vector<Value> ReleaseDistances() && { return std::move(lower_); }
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
  PivotMap() = default;
  explicit PivotMap(size_t expected) { Reset(expected); }
  /// Empties the map, sized for `expected` keys (keeps the memory it has).
  void Reset(size_t expected) {
    size_t capacity = 16;
    while (capacity < 2 * expected + 1) capacity *= 2;
    keys_.assign(capacity, -1);
    values_.resize(capacity);
    size_ = 0;
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
inline bool FitsPackedKey(const RipsFiltration& rips, int dim) {
  return rips.binomial()(rips.num_points(), dim + 2) < static_cast<SimplexIndex>(0xFFFFFFFFll);
}

/// Kruskal's components: a label per vertex (its component's representative) and a member list
/// per component; a union relabels the smaller side, so n − 1 unions cost O(n log n) and a
/// query is two loads (path-halving finds were ~5 % of the time of small point clouds).
class Components {
 public:
  void Reset(Vertex n) {
    label_.resize(static_cast<size_t>(n));
    next_.assign(static_cast<size_t>(n), -1);
    size_.assign(static_cast<size_t>(n), 1);
    std::iota(label_.begin(), label_.end(), Vertex{0});
  }
  bool Same(Vertex a, Vertex b) const { return label_[a] == label_[b]; }
  void Merge(Vertex a, Vertex b) {
    Vertex keep = label_[a], gone = label_[b];
    if (size_[keep] < size_[gone]) std::swap(keep, gone);
    Vertex last = gone;
    for (Vertex v = gone; v != -1; v = next_[v]) {
      label_[v] = keep;
      last = v;
    }
    next_[last] = next_[keep];  // gone's members go after keep
    next_[keep] = gone;
    size_[keep] += size_[gone];
  }
  /// True if v represents its component.
  bool IsRepresentative(Vertex v) const { return label_[v] == v; }

 private:
  std::vector<Vertex> label_;
  std::vector<Vertex> next_;  // member list, from the representative; −1 ends it
  std::vector<Vertex> size_;  // by representative
};

struct SmallRipsWorkspace;
/// Deletes a SmallRipsWorkspace (its type is complete only in ph_small_rips.cc).
struct SmallRipsWorkspaceDeleter {
  void operator()(SmallRipsWorkspace* workspace) const;
};
using SmallRipsWorkspacePtr = std::unique_ptr<SmallRipsWorkspace, SmallRipsWorkspaceDeleter>;

/// The buffers behind PersistenceWorkspace.
struct Workspace {
  std::vector<Value> lower;          // compressed distances
  std::vector<Value> eccentricity;   // per point
  std::vector<uint64_t> edge_words;  // edges as diameter bits << 32 | i << 16 | j, then sorted
  std::vector<uint64_t> edge_word_buffer;  // radix sort scratch
  std::vector<Edge> edges;                 // edges within the threshold in filtration order
  Components components;
  std::vector<DiameterIndex> columns;
  SmallRipsWorkspacePtr small;  // made on first use
};

}  // namespace sinkscope::analyzers::topology::internal
