// Combinatorial statistics of small graphs given as dense 0/1 adjacency matrices, shared by the
// CORRECTED (spectral.h) and PAPER (paper_spectral.h) spectral analyzers.
//
// Ideas and citations (spec topology-spectral):
// * Degree statistics of §5.3 steps 4–8: max in-degree, "basic" star-likeness max/(N−1), the Gini
//   coefficient of sorted degrees, Freeman's degree centralization Σ(max − d)/(N−1)², population
//   variance.
// * Connected components by union–find; hop-count average shortest path by breadth-first search on
//   one component; average local clustering with nodes of degree < 2 counted as 0 (networkx's
//   `average_clustering`, which §5.3 step 15 uses). Self-loops are ignored by all three.
#pragma once

#include <cstdint>
#include <vector>

namespace sinkscope::analyzers::spectral {

/// Statistics of a list of (in-)degrees d_1..d_N.
struct DegreeStats {
  double max_degree = 0;  ///< max_j d_j (0 for N = 0)
  int64_t argmax = -1;    ///< lowest j with d_j = max (−1 for N = 0)
  double basic_star = 0;  ///< max / max(1, N − 1)
  double gini = 0;  ///< 2 Σ_k k·d_(k) / (N Σd) − (N+1)/N over ascending d_(k); 0 if Σd = 0
  double centralization = 0;  ///< Σ_j (max − d_j) / (N−1)²; 0 if N ≤ 1 or max = 0
  double variance = 0;        ///< population variance; 0 if N ≤ 1
};

/// The statistics above, exactly as spec §5.3 steps 4–8 define them.
DegreeStats ComputeDegreeStats(const std::vector<double>& degrees);

/// A dense undirected graph: adjacency[i * n + j] != 0 means an edge {i, j}. Must be symmetric;
/// the diagonal is ignored.
struct DenseGraph {
  const uint8_t* adjacency = nullptr;
  int64_t n = 0;
  bool Edge(int64_t i, int64_t j) const { return i != j && adjacency[i * n + j] != 0; }
};

/// Component label of every node, labels 0, 1, … in order of each component's lowest node.
std::vector<int64_t> ComponentLabels(const DenseGraph& graph);

/// Number of distinct labels of ComponentLabels.
int64_t CountComponents(const std::vector<int64_t>& labels);

/// The label of the largest component; ties go to the component with the lowest node (networkx's
/// `max(connected_components(G), key=len)` order). −1 for n = 0.
int64_t LargestComponent(const std::vector<int64_t>& labels);

/// Mean hop distance over ordered pairs of distinct nodes of component `label` (0 for a component
/// of one node).
double AverageShortestPath(const DenseGraph& graph, const std::vector<int64_t>& labels,
                           int64_t label);

/// Mean over all n nodes of the local clustering coefficient (triangles through v over
/// deg(v)(deg(v)−1)/2; 0 when deg(v) < 2). 0 for n = 0.
double AverageClustering(const DenseGraph& graph);

/// What the CORRECTED and PAPER analyzers read of one graph's walks.
struct GraphWalks {
  int64_t num_components = 0;          ///< CountComponents(ComponentLabels(graph))
  int64_t largest_component_size = 0;  ///< nodes of LargestComponent (0 for n = 0)
  /// AverageShortestPath of the largest component; NaN if it has < 2 nodes or without paths.
  double avg_shortest_path = 0;
  double clustering = 0;  ///< AverageClustering(graph); NaN without paths
};

/// The four values above with the bit rows built once. For n ≤ 64 the shortest paths of all
/// sources are expanded together a level at a time (reach_d(s) = reach_{d−1}(s) ∪ the previous
/// level's new nodes of s's neighbours) instead of one breadth-first search per source; larger n
/// calls the functions above. Same integers, same results.
GraphWalks WalkGraph(const DenseGraph& graph, bool compute_paths);

}  // namespace sinkscope::analyzers::spectral
