#include "analyzers/spectral/graph_stats.h"

#include <algorithm>
#include <array>
#include <bit>
#include <limits>
#include <numeric>

namespace sinkscope::analyzers::spectral {

DegreeStats ComputeDegreeStats(const std::vector<double>& degrees) {
  DegreeStats s;
  const auto count = static_cast<int64_t>(degrees.size());
  if (count == 0) return s;
  const double nd = static_cast<double>(count);
  auto it = std::max_element(degrees.begin(), degrees.end());  // first maximum
  s.max_degree = *it;
  s.argmax = it - degrees.begin();
  s.basic_star = s.max_degree / std::max(1.0, nd - 1);
  std::vector<double> sorted = degrees;
  std::sort(sorted.begin(), sorted.end());
  const double total = std::accumulate(sorted.begin(), sorted.end(), 0.0);
  if (total > 0) {
    double weighted = 0;
    for (int64_t k = 0; k < count; ++k) weighted += static_cast<double>(k + 1) * sorted[k];
    s.gini = 2 * weighted / (nd * total) - (nd + 1) / nd;
  }
  const double max_possible = (nd - 1) * (nd - 1);
  if (count > 1 && s.max_degree > 0) {
    double deficit = 0;
    for (double d : degrees) deficit += s.max_degree - d;
    s.centralization = deficit / max_possible;
  }
  if (count > 1) {
    const double mean = total / nd;
    double ss = 0;
    for (double d : degrees) ss += (d - mean) * (d - mean);
    s.variance = ss / nd;
  }
  return s;
}

int64_t CountComponents(const std::vector<int64_t>& labels) {
  int64_t count = 0;
  for (int64_t l : labels) count = std::max(count, l + 1);
  return count;
}

int64_t LargestComponent(const std::vector<int64_t>& labels) {
  const int64_t count = CountComponents(labels);
  if (count == 0) return -1;
  std::vector<int64_t> size(static_cast<size_t>(count), 0);
  for (int64_t l : labels) ++size[l];
  // Labels follow the lowest node of each component, so the first maximum is networkx's choice.
  return std::max_element(size.begin(), size.end()) - size.begin();
}

namespace {

/// The graph's adjacency as bitset rows (ceil(n/64) words each, the diagonal cleared), so that
/// breadth-first search and triangle counting work a word (64 nodes) at a time: at n = 48 the
/// node-by-node versions were ~40 % of the spectral analyzer's time (docs/spectral.md).
class BitRows {
 public:
  explicit BitRows(const DenseGraph& graph)
      : words_((graph.n + 63) / 64), bits_(static_cast<size_t>(graph.n * words_), 0) {
    // Branch-free (the adjacency bits are random, `if (Edge)` mispredicted), each word gathered
    // in a local: stores into bits_ through a uint8_t-aliased row made every bit a
    // read-modify-write of memory.
    for (int64_t i = 0; i < graph.n; ++i) {
      const uint8_t* row = graph.adjacency + i * graph.n;
      for (int64_t w = 0; w < words_; ++w) {
        uint64_t word = 0;
        const int64_t end = std::min(graph.n, 64 * (w + 1));
        for (int64_t j = 64 * w; j < end; ++j) word |= uint64_t{row[j] != 0} << (j % 64);
        if (i / 64 == w) word &= ~(uint64_t{1} << (i % 64));
        bits_[i * words_ + w] = word;
      }
    }
  }
  int64_t words() const { return words_; }
  const uint64_t* row(int64_t i) const { return bits_.data() + i * words_; }

 private:
  int64_t words_;
  std::vector<uint64_t> bits_;
};

int64_t PopCount(const uint64_t* x, int64_t words) {
  int64_t count = 0;
  for (int64_t w = 0; w < words; ++w) count += std::popcount(x[w]);
  return count;
}

}  // namespace

std::vector<int64_t> ComponentLabels(const DenseGraph& graph) {
  const int64_t n = graph.n;
  std::vector<int64_t> label(static_cast<size_t>(n), -1);
  if (n <= 64) {
    // One word per row: each component is grown a frontier at a time from its lowest unlabelled
    // node, as the node-by-node search below labels them (labels depend only on membership and
    // on that order).
    const BitRows rows(graph);
    uint64_t unlabelled = n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
    for (int64_t next = 0; unlabelled != 0; ++next) {
      uint64_t component = uint64_t{1} << std::countr_zero(unlabelled), frontier = component;
      while (frontier != 0) {
        uint64_t reached = 0;
        for (uint64_t f = frontier; f != 0; f &= f - 1) reached |= *rows.row(std::countr_zero(f));
        frontier = reached & ~component;
        component |= frontier;
      }
      for (uint64_t f = component; f != 0; f &= f - 1) label[std::countr_zero(f)] = next;
      unlabelled &= ~component;
    }
    return label;
  }
  std::vector<int64_t> stack;
  int64_t next = 0;
  for (int64_t root = 0; root < n; ++root) {
    if (label[root] >= 0) continue;
    label[root] = next;
    stack.assign(1, root);
    while (!stack.empty()) {
      const int64_t v = stack.back();
      stack.pop_back();
      for (int64_t u = 0; u < n; ++u) {
        if (label[u] < 0 && graph.Edge(v, u)) {
          label[u] = next;
          stack.push_back(u);
        }
      }
    }
    ++next;
  }
  return label;
}

// Compiled twice (target_clones): the x86-64 baseline has no popcnt instruction, so
// std::popcount there is a call into libgcc (__popcountdi2, 2.9 % of the spectral family's
// samples at n = 48); the clone for CPUs with popcnt is picked at load time.
__attribute__((target_clones("popcnt", "default"))) double AverageShortestPath(
    const DenseGraph& graph, const std::vector<int64_t>& labels, int64_t label) {
  const int64_t n = graph.n;
  int64_t m = 0;
  for (int64_t v = 0; v < n; ++v) m += labels[v] == label ? 1 : 0;
  if (m <= 1) return 0.0;
  // Breadth-first search from every node of the component, one level (frontier) at a time: the
  // next frontier is the union of the frontier's rows minus what was reached. Nodes outside the
  // component are never reached, so the rows need no masking.
  const BitRows rows(graph);
  const int64_t words = rows.words();
  double total = 0;
  if (words == 1) {
    // n ≤ 64: every set is one word, kept in registers (the general loop below spent most of
    // its time filling and looping over one-word vectors). Same integer operations, same result.
    // With the one-word paths of clustering and components: spectral family 4.19 → 3.83 ms per
    // layer (bench/layer_metrics, n = 48).
    for (int64_t source = 0; source < n; ++source) {
      if (labels[source] != label) continue;
      uint64_t reached = uint64_t{1} << source, frontier = reached;
      for (int64_t distance = 1;; ++distance) {
        uint64_t next = 0;
        for (uint64_t f = frontier; f != 0; f &= f - 1) next |= *rows.row(std::countr_zero(f));
        next &= ~reached;
        if (next == 0) break;
        reached |= next;
        total += static_cast<double>(distance) * static_cast<double>(std::popcount(next));
        frontier = next;
      }
    }
    return total / (static_cast<double>(m) * static_cast<double>(m - 1));
  }
  std::vector<uint64_t> reached(static_cast<size_t>(words)), frontier(reached), next(reached);
  for (int64_t source = 0; source < n; ++source) {
    if (labels[source] != label) continue;
    std::fill(reached.begin(), reached.end(), 0);
    std::fill(frontier.begin(), frontier.end(), 0);
    reached[source / 64] = frontier[source / 64] = uint64_t{1} << (source % 64);
    for (int64_t distance = 1;; ++distance) {
      std::fill(next.begin(), next.end(), 0);
      for (int64_t w = 0; w < words; ++w) {
        for (uint64_t f = frontier[w]; f != 0; f &= f - 1) {
          const uint64_t* row = rows.row(w * 64 + std::countr_zero(f));
          for (int64_t x = 0; x < words; ++x) next[x] |= row[x];
        }
      }
      int64_t found = 0;
      for (int64_t w = 0; w < words; ++w) {
        next[w] &= ~reached[w];
        reached[w] |= next[w];
        found += std::popcount(next[w]);
      }
      if (found == 0) break;
      total += static_cast<double>(distance) * static_cast<double>(found);
      frontier.swap(next);
    }
  }
  return total / (static_cast<double>(m) * static_cast<double>(m - 1));
}

__attribute__((target_clones("popcnt", "default"))) double AverageClustering(
    const DenseGraph& graph) {
  const int64_t n = graph.n;
  if (n == 0) return 0.0;
  const BitRows rows(graph);
  const int64_t words = rows.words();
  std::vector<uint64_t> common(static_cast<size_t>(words));
  double sum = 0;
  if (words == 1) {  // n ≤ 64: one word per row, as in AverageShortestPath
    for (int64_t v = 0; v < n; ++v) {
      const uint64_t nv = *rows.row(v);
      const int64_t deg = std::popcount(nv);
      if (deg < 2) continue;
      int64_t twice_links = 0;
      for (uint64_t f = nv; f != 0; f &= f - 1) {
        twice_links += std::popcount(*rows.row(std::countr_zero(f)) & nv);
      }
      sum += static_cast<double>(twice_links) / (static_cast<double>(deg) * (deg - 1));
    }
    return sum / static_cast<double>(n);
  }
  for (int64_t v = 0; v < n; ++v) {
    const uint64_t* nv = rows.row(v);
    const int64_t deg = PopCount(nv, words);
    if (deg < 2) continue;
    // Links among v's neighbours: each counted from both ends.
    int64_t twice_links = 0;
    for (int64_t w = 0; w < words; ++w) {
      for (uint64_t f = nv[w]; f != 0; f &= f - 1) {
        const uint64_t* nu = rows.row(w * 64 + std::countr_zero(f));
        for (int64_t x = 0; x < words; ++x) twice_links += std::popcount(nu[x] & nv[x]);
      }
    }
    sum += static_cast<double>(twice_links) / (static_cast<double>(deg) * (deg - 1));
  }
  return sum / static_cast<double>(n);
}

namespace {

/// Sum of hop distances over ordered pairs of the component `component` (a bit mask) of the
/// one-word graph `rows`, all sources at once: level d's new nodes of s are the union of level
/// d − 1's new nodes of s's neighbours minus what s reached, so a level costs one OR per
/// (node, neighbour still growing) instead of one per (source, frontier node); sources whose
/// reach is the whole component stop. Integer operations only.
__attribute__((target_clones("popcnt", "default"))) int64_t SumOfDistancesOneWord(
    const uint64_t* rows, uint64_t component) {
  std::array<uint64_t, 64> reach{}, fresh{}, next{};
  int64_t total = 0;
  uint64_t growing = 0;  // nodes whose last level added something
  for (uint64_t f = component; f != 0; f &= f - 1) {
    const int s = std::countr_zero(f);
    reach[s] = rows[s] | (uint64_t{1} << s);
    fresh[s] = rows[s];
    total += std::popcount(rows[s]);
    if (rows[s] != 0) growing |= uint64_t{1} << s;
  }
  for (int64_t distance = 2; growing != 0; ++distance) {
    uint64_t now_growing = 0;
    for (uint64_t f = component; f != 0; f &= f - 1) {
      const int s = std::countr_zero(f);
      uint64_t found = 0;
      if (reach[s] != component) {
        for (uint64_t v = rows[s] & growing; v != 0; v &= v - 1)
          found |= fresh[std::countr_zero(v)];
        found &= ~reach[s];
        reach[s] |= found;
        total += distance * std::popcount(found);
        if (found != 0) now_growing |= uint64_t{1} << s;
      }
      next[s] = found;
    }
    fresh.swap(next);
    growing = now_growing;
  }
  return total;
}

}  // namespace

__attribute__((target_clones("popcnt", "default"))) GraphWalks WalkGraph(const DenseGraph& graph,
                                                                         bool compute_paths) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  const int64_t n = graph.n;
  GraphWalks walks;
  if (n > 64) {
    const std::vector<int64_t> labels = ComponentLabels(graph);
    walks.num_components = CountComponents(labels);
    const int64_t largest = LargestComponent(labels);
    walks.largest_component_size = std::count(labels.begin(), labels.end(), largest);
    walks.avg_shortest_path = compute_paths && walks.largest_component_size >= 2
                                  ? AverageShortestPath(graph, labels, largest)
                                  : kNaN;
    walks.clustering = compute_paths ? AverageClustering(graph) : kNaN;
    return walks;
  }
  const BitRows bit_rows(graph);
  const uint64_t* rows = bit_rows.row(0);
  // Components in order of their lowest node, as ComponentLabels numbers them; the first of the
  // largest wins ties (LargestComponent).
  uint64_t unreached = n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1, largest = 0;
  int64_t largest_size = 0;
  while (unreached != 0) {
    uint64_t component = uint64_t{1} << std::countr_zero(unreached), frontier = component;
    while (frontier != 0) {
      uint64_t reached = 0;
      for (uint64_t f = frontier; f != 0; f &= f - 1) reached |= rows[std::countr_zero(f)];
      frontier = reached & ~component;
      component |= frontier;
    }
    ++walks.num_components;
    if (std::popcount(component) > largest_size) {
      largest_size = std::popcount(component);
      largest = component;
    }
    unreached &= ~component;
  }
  walks.largest_component_size = largest_size;
  if (!compute_paths) {
    walks.avg_shortest_path = walks.clustering = kNaN;
    return walks;
  }
  const auto m = static_cast<double>(largest_size);
  walks.avg_shortest_path =
      largest_size >= 2 ? static_cast<double>(SumOfDistancesOneWord(rows, largest)) / (m * (m - 1))
                        : kNaN;
  double sum = 0;
  if (n > 0) {
    for (int64_t v = 0; v < n; ++v) {
      const uint64_t nv = rows[v];
      const int64_t deg = std::popcount(nv);
      if (deg < 2) continue;
      int64_t twice_links = 0;
      for (uint64_t f = nv; f != 0; f &= f - 1)
        twice_links += std::popcount(rows[std::countr_zero(f)] & nv);
      sum += static_cast<double>(twice_links) / (static_cast<double>(deg) * (deg - 1));
    }
    sum /= static_cast<double>(n);
  }
  walks.clustering = sum;
  return walks;
}

}  // namespace sinkscope::analyzers::spectral
