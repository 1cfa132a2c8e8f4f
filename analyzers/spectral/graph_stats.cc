#include "analyzers/spectral/graph_stats.h"

#include <algorithm>
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

std::vector<int64_t> ComponentLabels(const DenseGraph& graph) {
  const int64_t n = graph.n;
  std::vector<int64_t> label(static_cast<size_t>(n), -1);
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

double AverageShortestPath(const DenseGraph& graph, const std::vector<int64_t>& labels,
                           int64_t label) {
  const int64_t n = graph.n;
  std::vector<int64_t> nodes;
  for (int64_t v = 0; v < n; ++v) {
    if (labels[v] == label) nodes.push_back(v);
  }
  const auto m = static_cast<int64_t>(nodes.size());
  if (m <= 1) return 0.0;
  // Neighbour lists once; BFS from every node of the component.
  std::vector<std::vector<int64_t>> neighbours(static_cast<size_t>(n));
  for (int64_t v : nodes) {
    for (int64_t u : nodes) {
      if (graph.Edge(v, u)) neighbours[v].push_back(u);
    }
  }
  std::vector<int64_t> dist(static_cast<size_t>(n));
  std::vector<int64_t> queue(static_cast<size_t>(n));
  double total = 0;
  for (int64_t source : nodes) {
    std::fill(dist.begin(), dist.end(), -1);
    dist[source] = 0;
    size_t head = 0, tail = 0;
    queue[tail++] = source;
    while (head < tail) {
      const int64_t v = queue[head++];
      for (int64_t u : neighbours[v]) {
        if (dist[u] < 0) {
          dist[u] = dist[v] + 1;
          total += static_cast<double>(dist[u]);
          queue[tail++] = u;
        }
      }
    }
  }
  return total / (static_cast<double>(m) * static_cast<double>(m - 1));
}

double AverageClustering(const DenseGraph& graph) {
  const int64_t n = graph.n;
  if (n == 0) return 0.0;
  double sum = 0;
  std::vector<int64_t> nb;
  for (int64_t v = 0; v < n; ++v) {
    nb.clear();
    for (int64_t u = 0; u < n; ++u) {
      if (graph.Edge(v, u)) nb.push_back(u);
    }
    const auto deg = static_cast<int64_t>(nb.size());
    if (deg < 2) continue;
    int64_t links = 0;
    for (int64_t a = 0; a < deg; ++a) {
      for (int64_t b = a + 1; b < deg; ++b) links += graph.Edge(nb[a], nb[b]) ? 1 : 0;
    }
    sum += 2.0 * static_cast<double>(links) / (static_cast<double>(deg) * (deg - 1));
  }
  return sum / static_cast<double>(n);
}

}  // namespace sinkscope::analyzers::spectral
