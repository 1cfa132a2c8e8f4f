// H1 persistent cohomology of a Vietoris–Rips filtration on at most 64 points.
//
// The general engine (persistent_homology.cc) follows Ripser (Bauer 2021): sparse columns in a
// heap, the reduction matrix V stored and coboundaries recomputed from it (§4). That is the right
// trade for thousands of points. For n ≤ 64 all C(n, 3) ≤ 41,664 triangles fit in a 5 KiB bitset,
// and profiling (docs/topology.md, "Small matrices") showed the time of attention-like inputs
// going to heap pushes of recomputed coboundaries. Here, instead:
//  * Vertex neighbourhoods are 64-bit masks; the cofacets {a, b, w} of an edge {a, b} within the
//    threshold are the w in N(a) ∩ N(b).
//  * Every triangle gets its filtration rank ("position": diameter ascending, ties by larger
//    combinatorial index first, §2) without sorting the triangles: a triangle's diameter is that
//    of its last edge in the filtration, so the triangles are grouped by that edge, the groups
//    ordered like the edges, and inside a group ordered by decreasing third vertex w (for fixed
//    {a > b} the index of {a, b, w} increases with w). The last-edge groups are found in one
//    pass over the sorted edges: the triangles whose last edge is e = {a, b} are the w in
//    N(a) ∩ N(b) just before e is added. Edges of equal diameter form one group whose triangles
//    are sorted by index (their order then does not follow the edges).
//  * Columns are bitsets over positions, so a column's pivot is its lowest set bit and a column
//    addition (Z/2) is a word-wise XOR; reduced columns R are stored explicitly, from their pivot's
//    word on. An emergent column (§3.5) is not stored: its R is its coboundary, re-enumerated when
//    a later column needs it.
//  * Emergent pairs are found without enumerating cofacets: the first cofacet of e in the
//    filtration, if it has e's diameter, is {a, b, w} for the largest w with d(a, w) ≤ d(e) and
//    d(b, w) ≤ d(e), i.e. the top bit of N≤(a) ∩ N≤(b), the neighbourhoods once every edge of
//    diameter ≤ d(e) is in.
// The barcode is that of any reduction in the same filtration order, so it equals the general
// engine's (and ripser's) pair for pair; tests/analyzers/ripser_agreement_test.cc checks it.
#include "analyzers/topology/ph_small_rips.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <functional>
#include <memory>
#include <utility>

// std::popcount is a libgcc call unless the target has POPCNT, which the x86-64 baseline lacks;
// a rank costs one per cofacet, so on x86-64 the reduction is also compiled for POPCNT, and for
// AVX2 (32-byte XORs of column additions: +9 % on random-like attention at n = 64), and the
// loader picks the variant (GCC/Clang function multiversioning, target_clones).
#if defined(__x86_64__) && !defined(__POPCNT__)
#define SINKSCOPE_POPCNT_CLONES [[gnu::target_clones("avx2", "popcnt", "default")]]
#else
#define SINKSCOPE_POPCNT_CLONES
#endif

namespace sinkscope::analyzers::topology::internal {
namespace {

using Mask = uint64_t;

Value KeyDiameter(uint64_t key) {
  return FromFiltrationKey(key).diameter;
}
uint32_t KeyDiameterBits(uint64_t key) {
  return static_cast<uint32_t>(key >> 32);
}

/// A triangle's position in the filtration order of all triangles within the threshold.
using Position = uint32_t;
constexpr Position kNoPosition = ~Position{0};

/// The triangles of the filtration, ranked without being sorted (see the file comment).
class TriangleRanks {
 public:
  /// Ranks the triangles of `rips`; `edges` in filtration order.
  [[gnu::always_inline]] void Reset(const RipsFiltration& rips, std::span<const Edge> edges) {
    n_ = rips.num_points();
    binomial_ = &rips.binomial();
    groups_.clear();
    group_pool_.clear();
    group_bits_.clear();
    group_below_.clear();
    const size_t num_pairs = static_cast<size_t>(n_ * (n_ - 1) / 2);
    first_cofacets_.resize(num_pairs);
    vertices_.resize(num_pairs);
    info_.resize(edges.size());
    std::fill(std::begin(neighbours_), std::end(neighbours_), Mask{0});

    Position position = 0;
    for (size_t s = 0; s < edges.size();) {
      size_t t = s + 1;
      while (t < edges.size() && KeyDiameterBits(edges[t].key) == KeyDiameterBits(edges[s].key)) {
        ++t;
      }
      const Position group_start = position;
      const int16_t group = t - s == 1 ? -1 : static_cast<int16_t>(groups_.size());
      const size_t pool_begin = group_pool_.size();
      for (size_t u = s; u < t; ++u) {  // in key order: last_of follows the filtration exactly
        const Edge& e = edges[u];
        const Mask last_of = neighbours_[e.i] & neighbours_[e.j];
        order_[e.i][e.j] = order_[e.j][e.i] = static_cast<uint16_t>(u);
        vertices_[EdgeId(e.i, e.j)] = {static_cast<uint8_t>(e.i), static_cast<uint8_t>(e.j)};
        info_[u] = {last_of, group < 0 ? position : group_start, group,
                    static_cast<uint8_t>(e.i ^ e.j)};
        position += static_cast<Position>(std::popcount(last_of));
        if (group >= 0) {
          for (Mask m = last_of; m != 0; m &= m - 1) {
            group_pool_.push_back(TriangleIndex(e.i, e.j, std::countr_zero(m)));
          }
        }
        neighbours_[e.i] |= Mask{1} << e.j;
        neighbours_[e.j] |= Mask{1} << e.i;
      }
      if (group >= 0) {
        // One diameter: filtration order is decreasing index. A large group (attention distances
        // 1 − max(A, Aᵀ) tie wherever A rounds to 0) is ranked with a bitset over all triangle
        // indices and prefix counts instead of being sorted and searched.
        Group g{pool_begin, group_pool_.size(), -1};
        if (g.end - g.begin >= kBitsetGroupSize) {
          const size_t words = static_cast<size_t>((binomial_->operator()(n_, 3) + 63) / 64);
          g.bits = static_cast<int64_t>(group_bits_.size());
          group_bits_.resize(group_bits_.size() + words, 0);
          group_below_.resize(group_bits_.size());
          Mask* bits = group_bits_.data() + g.bits;
          for (size_t k = g.begin; k < g.end; ++k) {
            bits[group_pool_[k] >> 6] |= Mask{1} << (group_pool_[k] & 63);
          }
          uint32_t below = 0;
          for (size_t w = 0; w < words; ++w) {
            group_below_[static_cast<size_t>(g.bits) + w] = below;
            below += static_cast<uint32_t>(std::popcount(bits[w]));
          }
        } else {
          std::sort(group_pool_.begin() + static_cast<int64_t>(pool_begin), group_pool_.end(),
                    std::greater<SimplexIndex>());
        }
        groups_.push_back(g);
      }
      // Every edge of diameter ≤ d(e) is in now: the cofacets of e with e's diameter (needed
      // for groups only, see FirstCofacetOfEqualDiameter).
      for (size_t u = s; group >= 0 && u < t; ++u) {
        first_cofacets_[EdgeId(edges[u].i, edges[u].j)] =
            neighbours_[edges[u].i] & neighbours_[edges[u].j];
      }
      s = t;
    }
    num_triangles_ = position;
  }

  Position num_triangles() const { return num_triangles_; }
  /// N(v): the neighbours of v within the threshold.
  Mask neighbours(Vertex v) const { return neighbours_[v]; }
  /// Position of the first cofacet of the edge {a > b} if that has the edge's diameter, else
  /// kNoPosition. An edge that is alone in its group is the last edge of that cofacet, which is
  /// then its group's first position: no ranking (the emergent test runs for every column).
  [[gnu::always_inline]] Position FirstCofacetOfEqualDiameter(Vertex a, Vertex b) const {
    const EdgeInfo& info = info_[order_[a][b]];
    if (info.group < 0) return info.last_of != 0 ? info.start : kNoPosition;
    const Mask first = first_cofacets_[EdgeId(a, b)];
    return first != 0 ? Locate(a, b, 63 - std::countl_zero(first)) : kNoPosition;
  }

  /// The vertices {a > b} of the edge with this index (within the threshold).
  std::pair<Vertex, Vertex> EdgeVertices(SimplexIndex edge) const {
    return {vertices_[edge][0], vertices_[edge][1]};
  }

  /// Position of the triangle {a, b, w} (a ≠ b, w ∉ {a, b}, within the threshold).
  [[gnu::always_inline]] Position Locate(Vertex a, Vertex b, Vertex w) const {
    // Its last edge is the latest of its three in the filtration, found without branches since
    // which one it is depends on the data (branches on compares of 64-bit keys here were ~12 % of
    // a profile of attention n = 64; this form made it 16 % faster). z, the vertex opposite to
    // it, is the XOR of all three with its two.
    const uint16_t* row_a = order_[a];
    const uint16_t* row_b = order_[b];
    const uint32_t last = std::max({uint32_t{row_a[b]}, uint32_t{row_a[w]}, uint32_t{row_b[w]}});
    const EdgeInfo& info = info_[last];
    if (info.group < 0) {  // rank among the edge's w, decreasing
      const Vertex z = a ^ b ^ w ^ info.ends;
      const Mask above = ~((Mask{2} << z) - 1);
      return info.start + static_cast<Position>(std::popcount(info.last_of & above));
    }
    const Group& group = groups_[info.group];
    if (group.bits >= 0) {  // triangles of the group with a larger index come first
      const SimplexIndex index = TriangleIndex(a, b, w);
      const size_t word = static_cast<size_t>(index >> 6);
      const Mask* bits = group_bits_.data() + group.bits;
      const uint32_t not_above =
          group_below_[static_cast<size_t>(group.bits) + word] +
          static_cast<uint32_t>(std::popcount(bits[word] & ((Mask{2} << (index & 63)) - 1)));
      return info.start + static_cast<Position>(group.end - group.begin) - not_above;
    }
    const auto begin = group_pool_.begin() + static_cast<int64_t>(group.begin);
    const auto end = group_pool_.begin() + static_cast<int64_t>(group.end);
    const auto it = std::lower_bound(begin, end, TriangleIndex(a, b, w), std::greater<>());
    return info.start + static_cast<Position>(it - begin);
  }

  /// Diameter of the triangle at `position`: that of the last edge whose group starts at or
  /// before it.
  Value DiameterAt(Position position, std::span<const Edge> edges) const {
    const auto it =
        std::upper_bound(info_.begin(), info_.end(), position,
                         [](Position p, const EdgeInfo& info) { return p < info.start; });
    return KeyDiameter(edges[static_cast<size_t>(it - info_.begin()) - 1].key);
  }

 private:
  struct Group {
    size_t begin;  // its triangles in group_pool_ (sorted by decreasing index unless bits ≥ 0)
    size_t end;
    int64_t bits;  // −1, or offset in group_bits_/group_below_ of its bitset over all indices
  };
  /// An edge, by its place in the filtration: what Locate reads, in 16 bytes.
  struct EdgeInfo {
    Mask last_of;    // w such that the edge is the last edge of the triangle with w
    Position start;  // first position of its group
    int16_t group;   // −1: a group of one edge; else index into groups_ (< C(64, 2) / 2)
    uint8_t ends;    // XOR of its two vertices
  };
  static constexpr size_t kBitsetGroupSize = 512;
  static int64_t EdgeId(Vertex a, Vertex b) { return a * (a - 1) / 2 + b; }  // a > b
  SimplexIndex TriangleIndex(Vertex a, Vertex b, Vertex w) const {
    Vertex v[3] = {a, b, w};
    std::sort(v, v + 3, std::greater<Vertex>());
    const BinomialTable& binomial = *binomial_;
    return binomial(v[0], 3) + binomial(v[1], 2) + v[2];
  }

  Vertex n_ = 0;
  const BinomialTable* binomial_ = nullptr;
  Mask neighbours_[kSmallRipsMaxPoints];
  // order_[a][b]: place of the edge {a, b} in the filtration (within the threshold; 8 KiB).
  uint16_t order_[kSmallRipsMaxPoints][kSmallRipsMaxPoints];
  std::vector<EdgeInfo> info_;  // by place in the filtration
  // Per edge (index C(a, 2) + b), filled for edges within the threshold only:
  std::vector<Mask> first_cofacets_;  // edges in groups: the w with {a, b, w} of d({a, b})
  std::vector<std::array<uint8_t, 2>> vertices_;
  std::vector<Group> groups_;             // groups of several edges of equal diameter
  std::vector<SimplexIndex> group_pool_;  // their triangles, group by group
  std::vector<Mask> group_bits_;          // large groups: bit t set for each triangle index t
  std::vector<uint32_t> group_below_;     // set bits in the words before this one
  Position num_triangles_ = 0;
};

/// The reduced columns R_j that are not emergent, and the working column. A column is reduced in
/// place at the end of one arena of words and kept there when it gets its pivot (its words from
/// the pivot's to its last nonzero one); the next working column starts right after it, over
/// words that are already zero. Copying each finished column out and counting its bits was ~25 %
/// of the time of random-like attention at n = 64, where ~150 columns of ~430 words are stored
/// per matrix and most are never added to another. A column that is added is converted on its
/// first use to the list of its positions when that is 8 times shorter than its words (a
/// coboundary of ~n entries spread over all positions, common for point clouds).
class StoredColumns {
 public:
  /// Empties the store, for columns 0..num_columns−1 of num_words words; the working column is
  /// zero.
  void Reset(size_t num_columns, size_t num_words) {
    begin_.assign(num_columns, -1);
    info_.resize(num_columns);
    positions_.clear();
    num_words_ = num_words;
    slot_ = 0;
    words_.assign(num_words, 0);
  }

  /// The working column (num_words words); valid until the next Keep.
  Mask* working() { return words_.data() + slot_; }
  /// Keeps the working column as column j; its nonzero words are [lo, hi), all others zero.
  void Keep(size_t j, size_t lo, size_t hi) {
    begin_[j] = static_cast<int64_t>(slot_ + lo);
    info_[j] = {static_cast<uint32_t>(hi - lo), static_cast<uint32_t>(lo), Form::kWordsUnchecked};
    slot_ += hi;
    words_.resize(slot_ + num_words_);  // the new words are zero (value-initialized)
  }
  bool Has(size_t j) const { return begin_[j] >= 0; }
  /// Stores column j as a list of positions (any order).
  void StorePositions(size_t j, const Position* positions, size_t size) {
    Position last = 0;
    for (size_t k = 0; k < size; ++k) last = std::max(last, positions[k]);
    begin_[j] = static_cast<int64_t>(positions_.size());
    info_[j] = {static_cast<uint32_t>(size), (last >> 6) + 1, Form::kPositions};
    positions_.insert(positions_.end(), positions, positions + size);
  }
  /// working += R_j (working is not R_j); returns one past the last word it touched.
  [[gnu::always_inline]] size_t AddTo(size_t j, Mask* working) {
    Info& info = info_[j];
    if (info.form == Form::kWordsUnchecked) ChooseForm(j);
    if (info.form == Form::kPositions) {
      const Position* positions = positions_.data() + begin_[j];
      for (uint32_t k = 0; k < info.size; ++k) {
        working[positions[k] >> 6] ^= Mask{1} << (positions[k] & 63);
      }
      return info.end_word;
    }
    XorInto(working + info.first_word, words_.data() + begin_[j], info.size);
    return info.first_word + info.size;
  }

 private:
  enum class Form : uint8_t { kWordsUnchecked, kWords, kPositions };
  struct Info {
    uint32_t size;  // positions or words
    union {
      uint32_t first_word;  // words
      uint32_t end_word;    // positions: one past the word of the last position
    };
    Form form;
  };

  /// a[0, count) ^= b[0, count), 32 bytes at a time (one AVX2 or two SSE2 operations; GCC does
  /// not vectorize the word loop at -O2).
  [[gnu::always_inline]] static void XorInto(Mask* a, const Mask* b, size_t count) {
    using Block = Mask __attribute__((vector_size(32)));
    size_t w = 0;
    for (; w + 4 <= count; w += 4) {
      Block x, y;
      std::memcpy(&x, a + w, sizeof(x));
      std::memcpy(&y, b + w, sizeof(y));
      x ^= y;
      std::memcpy(a + w, &x, sizeof(x));
    }
    for (; w < count; ++w) a[w] ^= b[w];
  }

  /// Column j (words) becomes a list of positions if that is 8 times shorter.
  [[gnu::always_inline]] void ChooseForm(size_t j) {
    Info& info = info_[j];
    const Mask* words = words_.data() + begin_[j];
    size_t bits = 0;
    for (uint32_t w = 0; w < info.size; ++w) bits += static_cast<size_t>(std::popcount(words[w]));
    if (bits * 8 >= info.size) {
      info.form = Form::kWords;
      return;
    }
    const size_t begin = positions_.size();
    positions_.resize(begin + bits);
    Position* out = positions_.data() + begin;
    for (uint32_t w = 0; w < info.size; ++w) {
      for (Mask m = words[w]; m != 0; m &= m - 1) {
        *out++ = static_cast<Position>((info.first_word + w) * 64 + std::countr_zero(m));
      }
    }
    begin_[j] = static_cast<int64_t>(begin);
    info = {static_cast<uint32_t>(bits), info.first_word + info.size, Form::kPositions};
  }

  std::vector<int64_t> begin_;  // offset in words_ or positions_, −1: not stored
  std::vector<Info> info_;
  std::vector<Mask> words_;  // kept columns, then the working column at slot_
  std::vector<Position> positions_;
  size_t num_words_ = 0;
  size_t slot_ = 0;
};

}  // namespace

struct SmallRipsWorkspace {
  TriangleRanks ranks;
  StoredColumns stored;
  std::vector<Mask> claimed;          // bit per position: some column has it as pivot
  std::vector<uint16_t> pivot_owner;  // position → that column (read only where claimed)
  std::vector<Position> coboundary;
};

SmallRipsWorkspacePtr NewSmallRipsWorkspace() {
  return SmallRipsWorkspacePtr(std::make_unique<SmallRipsWorkspace>().release());
}
void SmallRipsWorkspaceDeleter::operator()(SmallRipsWorkspace* workspace) const {
  std::default_delete<SmallRipsWorkspace>()(workspace);
}

SINKSCOPE_POPCNT_CLONES void ReduceH1Small(const RipsFiltration& rips, std::span<const Edge> edges,
                                           const std::vector<DiameterIndex>& columns,
                                           SmallRipsWorkspace& workspace,
                                           std::vector<PersistenceInterval>& bars,
                                           int64_t& num_emergent) {
  TriangleRanks& ranks = workspace.ranks;
  ranks.Reset(rips, edges);
  const size_t num_words = (static_cast<size_t>(ranks.num_triangles()) + 63) / 64;
  StoredColumns& stored = workspace.stored;
  stored.Reset(columns.size(), num_words);
  Mask* working = stored.working();
  size_t lo = num_words, hi = 0;  // working[w] = 0 outside [lo, hi)
  // Lambdas are not covered by target_clones: always_inline puts them into each clone.
  auto flip = [&](Position p) __attribute__((always_inline)) {
    const size_t word = p >> 6;
    working[word] ^= Mask{1} << (p & 63);
    lo = std::min(lo, word);
    hi = std::max(hi, word + 1);
  };
  auto add_coboundary = [&](Vertex a, Vertex b) __attribute__((always_inline)) {
    for (Mask m = ranks.neighbours(a) & ranks.neighbours(b); m != 0; m &= m - 1) {
      flip(ranks.Locate(a, b, std::countr_zero(m)));
    }
  };

  // A flat table (≤ 41,664 × 2 bytes) rather than PivotMap's hashing: columns ≤ C(64, 2) fit.
  // Which entries are set is a bitset, so that only 1/16 of it is cleared per call.
  static_assert(kSmallRipsMaxPoints * (kSmallRipsMaxPoints - 1) / 2 < 0xFFFF);
  std::vector<Mask>& claimed = workspace.claimed;
  claimed.assign(num_words, 0);
  std::vector<uint16_t>& pivot_owner = workspace.pivot_owner;
  pivot_owner.resize(ranks.num_triangles());
  auto is_claimed = [&](Position p) __attribute__((always_inline)) {
    return (claimed[p >> 6] >> (p & 63) & 1) != 0;
  };
  auto claim = [&](Position p, size_t column) __attribute__((always_inline)) {
    claimed[p >> 6] |= Mask{1} << (p & 63);
    pivot_owner[p] = static_cast<uint16_t>(column);
  };
  std::vector<Position>& coboundary = workspace.coboundary;

  for (size_t j = 0; j < columns.size(); ++j) {
    const DiameterIndex sigma = columns[j];
    const auto [a, b] = ranks.EdgeVertices(sigma.index);

    // Emergent pair (§3.5): the first cofacet has σ's diameter and no column has claimed it.
    if (const Position p = ranks.FirstCofacetOfEqualDiameter(a, b); p != kNoPosition) {
      if (!is_claimed(p)) {
        claim(p, j);
        ++num_emergent;
        continue;
      }
    }

    add_coboundary(a, b);
    for (;;) {
      while (lo < hi && working[lo] == 0) ++lo;
      if (lo >= hi) {  // zero column: an essential class
        bars.push_back({sigma.diameter, kInfinity});
        lo = num_words;
        hi = 0;
        break;
      }
      const Position pivot = static_cast<Position>(lo * 64 + std::countr_zero(working[lo]));
      if (!is_claimed(pivot)) {
        const Value death = ranks.DiameterAt(pivot, edges);
        if (death > sigma.diameter) bars.push_back({sigma.diameter, death});
        claim(pivot, j);
        while (working[hi - 1] == 0) --hi;
        stored.Keep(j, lo, hi);
        working = stored.working();
        lo = num_words;
        hi = 0;
        break;
      }
      const size_t other = pivot_owner[pivot];
      if (!stored.Has(other)) {  // emergent: R = its coboundary, ranked once and kept
        const auto [other_a, other_b] = ranks.EdgeVertices(columns[other].index);
        coboundary.clear();
        for (Mask m = ranks.neighbours(other_a) & ranks.neighbours(other_b); m != 0; m &= m - 1) {
          coboundary.push_back(ranks.Locate(other_a, other_b, std::countr_zero(m)));
        }
        stored.StorePositions(other, coboundary.data(), coboundary.size());
      }
      hi = std::max(hi, stored.AddTo(other, working));
    }
  }
}

}  // namespace sinkscope::analyzers::topology::internal
