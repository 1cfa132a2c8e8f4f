// CORRECTED spectral analyzer (spec topology-spectral §8.10): closed-form graph spectra, ideal
// stars, the β0 cross-check with persistent homology (§8.1), permutation invariance, non-finite
// input, tiny n, errors; and the batched eigenvalue solver.
#include "analyzers/spectral/spectral.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>
#include <random>
#include <span>
#include <string>

#include <gtest/gtest.h>

#include "analyzers/common/small_symmetric_eigen.h"
#include "analyzers/spectral/batched_eigenvalues.h"
#include "analyzers/spectral/graph_stats.h"
#include "analyzers/spectral/laplacian_eigenvalues.h"
#include "analyzers/topology/persistent_homology.h"
#include "tests/analyzers/spectral_test_util.h"

namespace sinkscope::analyzers::spectral {
namespace {

const double kPi = std::numbers::pi;

ThresholdGraphMetrics OneGraph(const at::Tensor& a, double tau) {
  SpectralOptions options;
  options.thresholds = {tau};
  options.heads = HeadSelection::kHeadMean;
  auto r = ComputeSpectral(a, options);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->matrices.at(0).thresholds.at(0) : ThresholdGraphMetrics{};
}

/// A symmetric 0/1-weight matrix with the given undirected edges (weight 0.3 > τ = 0.1).
at::Tensor Graph(int64_t n, const std::vector<std::pair<int64_t, int64_t>>& edges) {
  at::Tensor a = at::zeros({n, n}, at::kDouble);
  for (auto [i, j] : edges) {
    a[i][j] = 0.3;
    a[j][i] = 0.3;
  }
  return a;
}

/// Node-by-node references for WalkGraph: components by breadth-first search from the lowest
/// unlabelled node, one queue-based search per source for the distances, neighbour pairs for
/// triangles.
GraphWalks ReferenceWalks(const std::vector<uint8_t>& adjacency, int64_t n) {
  auto edge = [&](int64_t i, int64_t j) { return i != j && adjacency[i * n + j] != 0; };
  std::vector<int64_t> label(static_cast<size_t>(n), -1), size;
  for (int64_t root = 0; root < n; ++root) {
    if (label[root] >= 0) continue;
    const auto next = static_cast<int64_t>(size.size());
    std::vector<int64_t> queue{root};
    label[root] = next;
    for (size_t q = 0; q < queue.size(); ++q) {
      for (int64_t u = 0; u < n; ++u) {
        if (label[u] < 0 && edge(queue[q], u)) {
          label[u] = next;
          queue.push_back(u);
        }
      }
    }
    size.push_back(static_cast<int64_t>(queue.size()));
  }
  GraphWalks w;
  w.num_components = static_cast<int64_t>(size.size());
  const int64_t largest =
      size.empty() ? -1 : std::max_element(size.begin(), size.end()) - size.begin();
  w.largest_component_size = size.empty() ? 0 : size[largest];
  int64_t total = 0;
  for (int64_t s = 0; s < n; ++s) {
    if (label[s] != largest) continue;
    std::vector<int64_t> distance(static_cast<size_t>(n), -1), queue{s};
    distance[s] = 0;
    for (size_t q = 0; q < queue.size(); ++q) {
      for (int64_t u = 0; u < n; ++u) {
        if (distance[u] < 0 && edge(queue[q], u)) {
          distance[u] = distance[queue[q]] + 1;
          total += distance[u];
          queue.push_back(u);
        }
      }
    }
  }
  const auto m = static_cast<double>(w.largest_component_size);
  w.avg_shortest_path = w.largest_component_size >= 2 ? static_cast<double>(total) / (m * (m - 1))
                                                      : std::numeric_limits<double>::quiet_NaN();
  double sum = 0;
  for (int64_t v = 0; v < n; ++v) {
    int64_t degree = 0, twice_links = 0;
    for (int64_t a = 0; a < n; ++a) {
      if (!edge(v, a)) continue;
      ++degree;
      for (int64_t b = 0; b < n; ++b) twice_links += edge(v, b) && edge(a, b) ? 1 : 0;
    }
    if (degree >= 2)
      sum += static_cast<double>(twice_links) / (static_cast<double>(degree) * (degree - 1));
  }
  w.clustering = n > 0 ? sum / static_cast<double>(n) : 0.0;
  return w;
}

void ExpectSameWalks(const std::vector<uint8_t>& adjacency, int64_t n, const std::string& what) {
  const GraphWalks got = WalkGraph(DenseGraph{adjacency.data(), n}, true);
  const GraphWalks want = ReferenceWalks(adjacency, n);
  EXPECT_EQ(got.num_components, want.num_components) << what;
  EXPECT_EQ(got.largest_component_size, want.largest_component_size) << what;
  if (std::isnan(want.avg_shortest_path)) {
    EXPECT_TRUE(std::isnan(got.avg_shortest_path)) << what;
  } else {
    EXPECT_EQ(got.avg_shortest_path, want.avg_shortest_path) << what;  // same integers: same bits
  }
  EXPECT_EQ(got.clustering, want.clustering) << what;
  const GraphWalks no_paths = WalkGraph(DenseGraph{adjacency.data(), n}, false);
  EXPECT_EQ(no_paths.num_components, want.num_components) << what;
  EXPECT_TRUE(std::isnan(no_paths.avg_shortest_path) && std::isnan(no_paths.clustering)) << what;
}

TEST(GraphWalksTest, AllSourcesExpansionMatchesOneSearchPerSource) {
  std::mt19937_64 rng(20261201);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int64_t n : {0, 1, 2, 3, 5, 17, 31, 48, 63, 64, 65, 70}) {
    for (double p : {0.0, 0.02, 0.05, 0.1, 0.3, 0.7, 1.0}) {
      // Symmetric random graph; with `blocks` the nodes are split in two halves (equal sizes for
      // even n: the tie goes to the component of node 0) with edges only inside each half.
      for (bool blocks : {false, true}) {
        std::vector<uint8_t> adjacency(static_cast<size_t>(n * n), 0);
        for (int64_t i = 0; i < n; ++i) {
          for (int64_t j = i + 1; j < n; ++j) {
            const bool same = (2 * i < n) == (2 * j < n);
            if (unit(rng) < p && (!blocks || same)) adjacency[i * n + j] = adjacency[j * n + i] = 1;
          }
          adjacency[i * n + i] = 1;  // self-loops are ignored
        }
        ExpectSameWalks(
            adjacency, n,
            "n=" + std::to_string(n) + " p=" + std::to_string(p) + (blocks ? " blocks" : ""));
      }
    }
  }
}

TEST(GraphWalksTest, PathGraphHasItsClosedFormMeanDistance) {
  // A path of n nodes: mean hop distance (n + 1)/3 over ordered pairs, n − 1 levels deep.
  for (int64_t n : {2, 3, 10, 48, 64, 65}) {
    std::vector<uint8_t> adjacency(static_cast<size_t>(n * n), 0);
    for (int64_t i = 0; i + 1 < n; ++i) adjacency[i * n + i + 1] = adjacency[(i + 1) * n + i] = 1;
    const GraphWalks w = WalkGraph(DenseGraph{adjacency.data(), n}, true);
    EXPECT_EQ(w.num_components, 1);
    EXPECT_EQ(w.largest_component_size, n);
    EXPECT_NEAR(w.avg_shortest_path, static_cast<double>(n + 1) / 3.0, 1e-12) << n;
    EXPECT_EQ(w.clustering, 0.0);
    ExpectSameWalks(adjacency, n, "path n=" + std::to_string(n));
  }
}

TEST(SpectralTest, PathAndCycleGraphsHaveTheirClosedFormFiedlerValues) {
  for (int64_t n : {3, 10, 33}) {
    std::vector<std::pair<int64_t, int64_t>> path;
    for (int64_t i = 0; i + 1 < n; ++i) path.emplace_back(i, i + 1);
    auto m = OneGraph(Graph(n, path), 0.1);
    EXPECT_NEAR(m.fiedler_value, 2 - 2 * std::cos(kPi / n), 1e-12) << n;
    EXPECT_EQ(m.num_components, 1);
    EXPECT_EQ(m.zero_eigenvalue_multiplicity, 1);
    // Path: mean hop distance over ordered pairs is (n + 1)/3.
    EXPECT_NEAR(m.avg_shortest_path, (n + 1) / 3.0, 1e-12);
    EXPECT_EQ(m.clustering_coefficient, 0.0);
    path.emplace_back(n - 1, 0);
    m = OneGraph(Graph(n, path), 0.1);
    EXPECT_NEAR(m.fiedler_value, 2 - 2 * std::cos(2 * kPi / n), 1e-12) << n;
    // The cycle's λ2 is double: the gap λ3 − λ2 vanishes (for n = 3 it is K3).
    EXPECT_NEAR(m.laplacian_gap_difference, 0.0, 1e-9);
  }
  // The weighted graph sees weight 0.3: λ2 = 0.3 (2 − 2cos(π/n)).
  SpectralOptions options;
  options.thresholds = {};
  auto r = ComputeSpectral(Graph(4, {{0, 1}, {1, 2}, {2, 3}}), options);
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(r->matrices[0].weighted.fiedler_value, 0.3 * (2 - 2 * std::cos(kPi / 4)), 1e-12);
}

TEST(SpectralTest, CompleteGraphHasFiedlerN) {
  for (int64_t n : {2, 5, 40}) {
    auto m = OneGraph(testing::UniformBidir(n), 0.5 / n);
    EXPECT_NEAR(m.fiedler_value, static_cast<double>(n), 1e-10) << n;
    EXPECT_NEAR(m.normalized_fiedler_value, n / (n - 1.0), 1e-12);
    EXPECT_DOUBLE_EQ(m.density, 1.0);
    EXPECT_EQ(m.avg_shortest_path, 1.0);
    EXPECT_EQ(m.clustering_coefficient, n >= 3 ? 1.0 : 0.0);
    EXPECT_EQ(m.degree_centralization, 0.0);
    EXPECT_EQ(m.gini_coefficient, 0.0);
  }
}

TEST(SpectralTest, BidirectionalStarIsIdealWithFiedlerOne) {
  // Hub 0 attends to everyone and everyone attends to the hub: the unweighted star, w = 1.
  const int64_t n = 8;
  at::Tensor a = at::zeros({n, n}, at::kDouble);
  a[0].fill_(1.0 / n);
  a.select(1, 0).slice(0, 1).fill_(0.6);
  a.diagonal().slice(0, 1).fill_(0.4);
  auto m = OneGraph(a, 0.1);
  EXPECT_EQ(m.hub, 0);
  EXPECT_EQ(m.star_edge_weight, 1.0);
  EXPECT_NEAR(m.fiedler_value, 1.0, 1e-12);
  EXPECT_NEAR(m.fiedler_star_deviation, 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(m.star_proximity, 1.0);
  EXPECT_DOUBLE_EQ(m.star_likeness, 1.0);
}

TEST(SpectralTest, CausalSinkStarIsIdealWithFiedlerOneHalf) {
  // One-directional star (every token → the sink): w = 0.5, λ2 = 0.5, star-likeness and
  // centralization exactly 1, Gini (n−1)/n, hop distances 1 (hub) and 2 (leaves).
  for (int64_t n : {3, 12, 64}) {
    at::Tensor a = at::zeros({n, n}, at::kDouble);
    a.select(1, 0).fill_(0.9);
    a.diagonal().fill_(0.1);
    a[0][0] = 1.0;
    auto m = OneGraph(a, 0.2);
    EXPECT_EQ(m.star_edge_weight, 0.5);
    EXPECT_NEAR(m.fiedler_value, 0.5, 1e-12);
    EXPECT_DOUBLE_EQ(m.star_proximity, 1.0);
    EXPECT_DOUBLE_EQ(m.star_likeness, 1.0);
    EXPECT_DOUBLE_EQ(m.degree_centralization, 1.0);
    EXPECT_NEAR(m.gini_coefficient, (n - 1.0) / n, 1e-12);
    EXPECT_NEAR(m.density, 1.0 / n, 1e-15);
    EXPECT_NEAR(m.avg_shortest_path, 2.0 * (n - 1) / n, 1e-12);
    EXPECT_EQ(m.clustering_coefficient, 0.0);
    EXPECT_EQ(m.max_in_degree, n - 1);
  }
}

TEST(SpectralTest, StarProximityDropsAwayFromTheStar) {
  // The star plus one leaf-leaf edge is closer to the star than a path is.
  const int64_t n = 6;
  std::vector<std::pair<int64_t, int64_t>> star = {{0, 1}, {0, 2}, {0, 3}, {0, 4}, {0, 5}};
  auto ideal = OneGraph(Graph(n, star), 0.1);
  star.emplace_back(1, 2);
  auto near = OneGraph(Graph(n, star), 0.1);
  auto path = OneGraph(Graph(n, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}}), 0.1);
  EXPECT_DOUBLE_EQ(ideal.star_proximity, 1.0);
  EXPECT_LT(near.star_proximity, 1.0);
  EXPECT_GT(near.star_proximity, path.star_proximity);
  EXPECT_GE(path.star_proximity, 0.0);
  // Empty graph: L = 0, so the proximity is 1 − ‖L_S*‖/‖L_S*‖ = 0.
  EXPECT_EQ(OneGraph(Graph(n, {}), 0.1).star_proximity, 0.0);
}

/// Row-stochastic, peaked attention (softmax of scaled Gaussian logits), optionally causal.
at::Tensor RandomAttention(int64_t n, bool causal, std::mt19937& rng) {
  std::normal_distribution<double> normal(0.0, 3.0);
  at::Tensor logits = at::empty({n, n}, at::kDouble);
  auto acc = logits.accessor<double, 2>();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      acc[i][j] = causal && j > i ? -std::numeric_limits<double>::infinity() : normal(rng);
    }
  }
  return at::softmax(logits, 1).to(at::kFloat);
}

TEST(SpectralTest, ComponentsMatchZeroEigenvaluesAndPersistentH0) {
  // Spec §8.1: β0 of the Rips filtration of d = 1 − max(A, Aᵀ) (zero diagonal) at ε = 1 − τ
  // equals the components of {max(A, Aᵀ) > τ} equals the multiplicity of λ = 0 of L. τ is kept
  // 1e-4 away from every entry so strict > (graph) and ≤ (Rips) cannot disagree.
  std::mt19937 rng(20261201);
  std::uniform_real_distribution<double> tau_dist(0.01, 0.4);
  int checked = 0, multi = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const int64_t n = 5 + trial % 30;
    at::Tensor a = RandomAttention(n, trial % 2 == 0, rng);
    at::Tensor m = at::maximum(a, a.t()).contiguous();
    at::Tensor d = (1.0f - m).contiguous();
    d.fill_diagonal_(0.0f);
    auto ph = topology::ComputePersistence(
        topology::DistanceMatrixView::Full(d.data_ptr<float>(), n), {.max_dim = 0});
    ASSERT_TRUE(ph.ok()) << ph.status().ToString();
    std::vector<double> taus;
    while (taus.size() < 4) {
      const double tau = tau_dist(rng);
      if ((m.to(at::kDouble) - tau).abs().min().item<double>() > 1e-4) taus.push_back(tau);
    }
    SpectralOptions options;
    options.thresholds = taus;
    options.heads = HeadSelection::kHeadMean;
    auto r = ComputeSpectral(a, options);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (size_t t = 0; t < taus.size(); ++t) {
      const float eps = 1.0f - static_cast<float>(taus[t]);
      int64_t alive = 0;
      for (const auto& bar : ph->barcodes[0]) alive += bar.birth <= eps && eps < bar.death;
      const auto& g = r->matrices[0].thresholds[t];
      EXPECT_EQ(g.num_components, alive) << "trial " << trial << " tau " << taus[t];
      EXPECT_EQ(g.zero_eigenvalue_multiplicity, alive) << "trial " << trial;
      ++checked;
      multi += alive > 1;
    }
  }
  EXPECT_EQ(checked, 160);
  EXPECT_GT(multi, 40);  // the check covers disconnected graphs, not only β0 = 1
}

TEST(SpectralTest, MetricsAreInvariantUnderTokenPermutation) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 6; ++trial) {
    const int64_t n = 9 + 4 * trial;
    at::Tensor a = RandomAttention(n, trial % 2 == 1, rng).to(at::kDouble);
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    at::Tensor p = at::tensor(order, at::kLong);
    at::Tensor b = a.index_select(0, p).index_select(1, p);
    auto ra = ComputeSpectral(a), rb = ComputeSpectral(b);
    ASSERT_TRUE(ra.ok() && rb.ok());
    for (size_t t = 0; t < ra->thresholds.size(); ++t) {
      const auto& x = ra->matrices[0].thresholds[t];
      const auto& y = rb->matrices[0].thresholds[t];
      SCOPED_TRACE(::testing::Message() << "trial " << trial << " tau " << x.threshold);
      EXPECT_EQ(x.num_edges, y.num_edges);
      EXPECT_EQ(x.max_in_degree, y.max_in_degree);
      EXPECT_EQ(x.num_components, y.num_components);
      EXPECT_EQ(x.zero_eigenvalue_multiplicity, y.zero_eigenvalue_multiplicity);
      EXPECT_EQ(x.largest_component_size, y.largest_component_size);
      for (auto [u, v] : {std::pair{x.density, y.density},
                          {x.star_likeness, y.star_likeness},
                          {x.gini_coefficient, y.gini_coefficient},
                          {x.degree_centralization, y.degree_centralization},
                          {x.degree_variance, y.degree_variance},
                          {x.fiedler_value, y.fiedler_value},
                          {x.normalized_fiedler_value, y.normalized_fiedler_value},
                          {x.laplacian_gap_difference, y.laplacian_gap_difference},
                          {x.clustering_coefficient, y.clustering_coefficient}}) {
        EXPECT_NEAR(u, v, 1e-9);
      }
      EXPECT_TRUE((std::isnan(x.avg_shortest_path) && std::isnan(y.avg_shortest_path)) ||
                  std::abs(x.avg_shortest_path - y.avg_shortest_path) < 1e-12);
      // The hub is the lowest index among ties, so star metrics move with it only when the
      // maximum in-degree is unique; then the hub is the same token.
      at::Tensor in_degree = a.gt(x.threshold).to(at::kDouble).fill_diagonal_(0).sum(0);
      if (in_degree.eq(in_degree.max()).sum().item<int64_t>() == 1) {
        EXPECT_EQ(order[y.hub], x.hub);
        EXPECT_NEAR(x.star_proximity, y.star_proximity, 1e-12);
        EXPECT_EQ(x.star_edge_weight, y.star_edge_weight);
      }
    }
    const auto& wx = ra->matrices[0].weighted;
    const auto& wy = rb->matrices[0].weighted;
    EXPECT_NEAR(wx.fiedler_value, wy.fiedler_value, 1e-9);
    EXPECT_NEAR(wx.normalized_fiedler_value, wy.normalized_fiedler_value, 1e-9);
    EXPECT_NEAR(wx.in_strength_gini, wy.in_strength_gini, 1e-12);
  }
}

TEST(SpectralTest, NonFiniteMatrixIsInvalidAndTheOthersAreComputed) {
  at::Tensor heads = at::full({3, 4, 4}, 0.25);
  heads[1][0][1] = std::numeric_limits<float>::quiet_NaN();
  heads[1][2][3] = std::numeric_limits<float>::infinity();
  auto r = ComputeSpectral(heads);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->matrices.size(), 4u);
  EXPECT_EQ(r->matrices[3].head, kHeadMean);
  for (int i : {0, 2}) {
    EXPECT_TRUE(r->matrices[i].valid);
    EXPECT_NEAR(r->matrices[i].thresholds[0].fiedler_value, 4.0, 1e-12);
    EXPECT_NEAR(r->matrices[i].weighted.fiedler_value, 1.0, 1e-12);
  }
  for (int i : {1, 3}) {
    const auto& m = r->matrices[i];
    EXPECT_FALSE(m.valid);
    EXPECT_EQ(m.health.num_nan, 1);
    EXPECT_EQ(m.health.num_posinf, 1);
    EXPECT_TRUE(std::isnan(m.thresholds[0].fiedler_value));
    EXPECT_EQ(m.thresholds[0].num_components, -1);
    EXPECT_TRUE(std::isnan(m.weighted.fiedler_value));
  }
}

TEST(SpectralTest, OneAndTwoTokensGiveDefinedResults) {
  auto r1 = ComputeSpectral(at::ones({1, 1}));
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  const auto& one = r1->matrices[0].thresholds[0];
  EXPECT_TRUE(r1->matrices[0].valid);
  EXPECT_EQ(one.num_components, 1);
  EXPECT_EQ(one.zero_eigenvalue_multiplicity, 1);
  EXPECT_EQ(one.density, 0.0);
  EXPECT_EQ(one.star_likeness, 0.0);
  EXPECT_TRUE(std::isnan(one.fiedler_value));
  EXPECT_TRUE(std::isnan(one.star_proximity));
  EXPECT_TRUE(std::isnan(one.avg_shortest_path));
  EXPECT_EQ(one.clustering_coefficient, 0.0);

  auto two = OneGraph(at::full({2, 2}, 0.5), 0.1);
  EXPECT_NEAR(two.fiedler_value, 2.0, 1e-12);
  EXPECT_TRUE(std::isnan(two.laplacian_gap_difference));
  EXPECT_EQ(two.star_fiedler_value, 2.0);
  EXPECT_NEAR(two.fiedler_star_deviation, 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(two.star_proximity, 1.0);
  EXPECT_DOUBLE_EQ(two.star_likeness, 1.0);
  EXPECT_EQ(two.avg_shortest_path, 1.0);
}

TEST(SpectralTest, RejectsBadInputWithCodeAndMessage) {
  struct Case {
    at::Tensor input;
    std::vector<double> thresholds;
    int64_t max_tokens;
    StatusCode code;
    const char* fragment;
  };
  const Case cases[] = {
      {at::zeros({3, 4}), {0.1}, 1024, StatusCode::kInvalidArgument, "got shape [3, 4]"},
      {at::zeros({2, 2, 2, 2}), {0.1}, 1024, StatusCode::kInvalidArgument, "[heads, n, n]"},
      {at::zeros({3, 3}, at::kInt), {0.1}, 1024, StatusCode::kInvalidArgument, "floating"},
      {at::zeros({3, 3}), {INFINITY}, 1024, StatusCode::kInvalidArgument, "not finite"},
      {at::zeros({2, 9, 9}), {0.1}, 8, StatusCode::kResourceExhausted, "n = 9 tokens"},
  };
  for (const auto& c : cases) {
    SpectralOptions options;
    options.thresholds = c.thresholds;
    options.max_tokens = c.max_tokens;
    Status s = ComputeSpectral(c.input, options).status();
    EXPECT_EQ(s.code(), c.code) << c.fragment;
    EXPECT_NE(s.message().find(c.fragment), std::string::npos) << s.message();
  }
}

TEST(SpectralTest, RecordsParametersAndHeadOrder) {
  SpectralOptions options;
  options.thresholds = {0.3, 0.05};
  options.weighted_symmetrization = Symmetrization::kMax;
  auto r = ComputeSpectral(at::rand({2, 5, 5}), options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->num_tokens, 5);
  EXPECT_EQ(r->num_heads, 2);
  EXPECT_EQ(r->thresholds, options.thresholds);
  EXPECT_EQ(r->weighted_symmetrization, Symmetrization::kMax);
  ASSERT_EQ(r->matrices.size(), 3u);
  EXPECT_EQ(r->matrices[0].head, 0);
  EXPECT_EQ(r->matrices[1].head, 1);
  EXPECT_EQ(r->matrices[2].head, kHeadMean);
  EXPECT_EQ(r->matrices[2].thresholds[1].threshold, 0.05);
}

TEST(BatchedEigenvaluesTest, MatchesOneCallPerMatrixInBothPrecisions) {
  at::Tensor x = at::randn({6, 7, 7}, at::kDouble);
  at::Tensor sym = x + x.transpose(1, 2);
  for (auto dtype : {at::kDouble, at::kFloat}) {
    auto ev = BatchedSymmetricEigenvalues(sym.to(dtype));
    ASSERT_TRUE(ev.ok()) << ev.status().ToString();
    EXPECT_EQ(ev->scalar_type(), dtype);
    ASSERT_EQ(ev->sizes(), (at::IntArrayRef{6, 7}));
    for (int64_t k = 0; k < 6; ++k) {
      at::Tensor one = at::linalg_eigvalsh(sym[k]);
      EXPECT_TRUE(at::allclose(ev->select(0, k).to(at::kDouble), one, 1e-4, 1e-4));
    }
    // Ascending order.
    EXPECT_TRUE(ev->diff(1, 1).ge(0).all().item<bool>());
  }
  // Laplacians: row sums zero, λ1 = 0.
  at::Tensor w = at::rand({3, 5, 5}, at::kDouble);
  w = w + w.transpose(1, 2);
  auto ev = BatchedSymmetricEigenvalues(CombinatorialLaplacians(w));
  ASSERT_TRUE(ev.ok());
  EXPECT_LT(ev->select(1, 0).abs().max().item<double>(), 1e-12);
  EXPECT_EQ(BatchedSymmetricEigenvalues(at::zeros({3, 3})).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(BatchedSymmetricEigenvalues(at::zeros({2, 3, 3}, at::kHalf)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(BatchedSymmetricEigenvalues(at::zeros({0, 3, 3}))->sizes(), (at::IntArrayRef{0, 3}));
  EXPECT_EQ(ParseSymmetricEigenSolver("arpack").status().code(), StatusCode::kInvalidArgument);
}

TEST(BatchedEigenvaluesTest, EigenSolverAgreesWithLibtorch) {
  at::Tensor x = at::randn({5, 9, 9}, at::kDouble);
  at::Tensor sym = x + x.transpose(1, 2);
  for (auto dtype : {at::kDouble, at::kFloat}) {
    auto a = BatchedSymmetricEigenvalues(sym.to(dtype), SymmetricEigenSolver::kLibtorch);
    auto b = BatchedSymmetricEigenvalues(sym.to(dtype), SymmetricEigenSolver::kEigen);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(b->scalar_type(), dtype);
    const double tol = dtype == at::kDouble ? 1e-12 : 1e-4;
    EXPECT_TRUE(at::allclose(*a, *b, tol, tol)) << (*a - *b).abs().max().item<double>();
  }
  // The analyzer gives the same metrics with either solver.
  std::mt19937 rng(3);
  at::Tensor attention =
      at::stack({RandomAttention(20, true, rng), RandomAttention(20, false, rng)});
  SpectralOptions options;
  EXPECT_EQ(options.eigen_solver, SymmetricEigenSolver::kAuto);
  options.eigen_solver = SymmetricEigenSolver::kLibtorch;
  auto ra = ComputeSpectral(attention, options);
  options.eigen_solver = SymmetricEigenSolver::kEigen;
  auto rb = ComputeSpectral(attention, options);
  ASSERT_TRUE(ra.ok() && rb.ok());
  for (size_t i = 0; i < ra->matrices.size(); ++i) {
    for (size_t t = 0; t < ra->thresholds.size(); ++t) {
      const auto& x = ra->matrices[i].thresholds[t];
      const auto& y = rb->matrices[i].thresholds[t];
      EXPECT_NEAR(x.fiedler_value, y.fiedler_value, 1e-10);
      EXPECT_NEAR(x.normalized_fiedler_value, y.normalized_fiedler_value, 1e-10);
      EXPECT_EQ(x.zero_eigenvalue_multiplicity, y.zero_eigenvalue_multiplicity);
    }
    EXPECT_NEAR(ra->matrices[i].weighted.fiedler_value, rb->matrices[i].weighted.fiedler_value,
                1e-10);
  }
}

// Tridiagonalization + bisection (the CPU path) against the whole spectrum (LAPACK via libtorch),
// on Laplacians of every kind the analyzer builds: weighted, thresholded with entries {0, ½, 1}
// (repeated eigenvalues), disconnected with isolated nodes, normalized, and sizes 0 to 70.
TEST(LaplacianEigenvaluesTest, BisectionMatchesTheWholeSpectrum) {
  std::mt19937 rng(17);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (int64_t n : {0, 1, 2, 3, 5, 17, 48, 70}) {
    std::vector<at::Tensor> weights;
    for (int kind = 0; kind < 4; ++kind) {
      at::Tensor w = at::zeros({n, n}, at::kDouble);
      auto acc = w.accessor<double, 2>();
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < i; ++j) {
          double v = uniform(rng);
          if (kind == 1) v = v < 0.6 ? 0.0 : (v < 0.8 ? 0.5 : 1.0);           // thresholded
          if (kind == 2) v = (i < n / 2) == (j < n / 2) && v < 0.5 ? 1 : 0;   // two blocks
          if (kind == 3) v = i == n - 1 || j == n - 1 ? 0.0 : v * (v > 0.7);  // an isolated node
          acc[i][j] = acc[j][i] = v;
        }
      }
      weights.push_back(w);
    }
    at::Tensor w = n == 0 ? at::zeros({4, 0, 0}, at::kDouble) : at::stack(weights);
    at::Tensor laplacians = at::cat({CombinatorialLaplacians(w), NormalizedLaplacians(w)});
    auto bisection = ComputeLaplacianEigenvalues(laplacians, SymmetricEigenSolver::kEigen);
    auto whole = ComputeLaplacianEigenvalues(laplacians, SymmetricEigenSolver::kLibtorch);
    ASSERT_TRUE(bisection.ok() && whole.ok()) << bisection.status().ToString();
    ASSERT_EQ(bisection->size(), 8u);
    for (size_t m = 0; m < bisection->size(); ++m) {
      const LaplacianEigenvalues& x = (*bisection)[m];
      const LaplacianEigenvalues& y = (*whole)[m];
      const std::string where = "n = " + std::to_string(n) + ", matrix " + std::to_string(m);
      const double tol = 1e-12 * std::max(1.0, std::abs(y.largest));
      if (n == 0) {
        EXPECT_TRUE(std::isnan(x.largest)) << where;
        continue;
      }
      EXPECT_NEAR(x.largest, y.largest, tol) << where;
      EXPECT_EQ(std::isnan(x.second), n < 2) << where;
      EXPECT_EQ(std::isnan(x.third), n < 3) << where;
      if (n >= 2) {
        EXPECT_NEAR(x.second, y.second, tol) << where;
      }
      if (n >= 3) {
        EXPECT_NEAR(x.third, y.third, tol) << where;
      }
      EXPECT_EQ(x.zero_multiplicity, y.zero_multiplicity) << where;
      EXPECT_NEAR(x.zero_tolerance, y.zero_tolerance, 1e-20) << where;
    }
    if (n >=
        4) {  // the two-block graph has at least 2 zero eigenvalues, the isolated node one more
      EXPECT_GE((*bisection)[2].zero_multiplicity, 2);
      EXPECT_GE((*bisection)[3].zero_multiplicity, 2);
    }
  }
  EXPECT_EQ(ComputeLaplacianEigenvalues(at::zeros({2, 3, 3}, at::kFloat)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeLaplacianEigenvalues(at::zeros({3, 3}, at::kDouble)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(LaplacianEigenvaluesTest, TridiagonalsOfSeveralRoundsGiveTheSameValuesInOneCall) {
  // What ComputeOnHost does: tridiagonalize in rounds into slices of d and e, then bisect every
  // round's requests together with a per-matrix `complete` mask. Each chain stops on its own, so
  // the values must equal those of one ComputeLaplacianEigenvaluesCpu call per round, bit for bit.
  std::mt19937 rng(29);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (int64_t n : {1, 2, 3, 17, 48}) {
    constexpr int64_t kPerRound = 6, kRounds = 3;  // 6: groups of 4 lanes with 2 left over
    const auto nn = static_cast<size_t>(n * n), un = static_cast<size_t>(n);
    std::vector<double> d(kRounds * kPerRound * un), e(d.size());
    std::vector<LaplacianEigenvalues> want;
    for (int64_t t = 0; t < kRounds; ++t) {
      at::Tensor w = at::zeros({kPerRound / 2, n, n}, at::kDouble);
      auto acc = w.accessor<double, 3>();
      for (int64_t m = 0; m < kPerRound / 2; ++m) {
        for (int64_t i = 0; i < n; ++i) {
          for (int64_t j = 0; j < i; ++j) {
            const double v = uniform(rng);
            acc[m][i][j] = acc[m][j][i] = m == 1 ? (v < 0.6 ? 0.0 : (v < 0.8 ? 0.5 : 1.0)) : v;
          }
        }
      }
      at::Tensor l = at::cat({CombinatorialLaplacians(w), NormalizedLaplacians(w)}).contiguous();
      const double* lp = l.data_ptr<double>();
      const std::vector<LaplacianEigenvalues> one =
          ComputeLaplacianEigenvaluesCpu(lp, kPerRound, n, kPerRound / 2);
      want.insert(want.end(), one.begin(), one.end());
      const size_t at = static_cast<size_t>(t * kPerRound) * un;
      TridiagonalizeSymmetric(std::span<const double>(lp, kPerRound * nn), n,
                              std::span<double>(d).subspan(at, kPerRound * un),
                              std::span<double>(e).subspan(at, kPerRound * un));
    }
    std::vector<bool> complete(kRounds * kPerRound);
    for (size_t m = 0; m < complete.size(); ++m) complete[m] = m % kPerRound < kPerRound / 2;
    const std::vector<LaplacianEigenvalues> got =
        LaplacianEigenvaluesOfTridiagonals(d.data(), e.data(), kRounds * kPerRound, n, complete);
    ASSERT_EQ(got.size(), want.size());
    auto same = [](double x, double y) { return (std::isnan(x) && std::isnan(y)) || x == y; };
    for (size_t m = 0; m < got.size(); ++m) {
      const std::string where = "n = " + std::to_string(n) + ", matrix " + std::to_string(m);
      EXPECT_TRUE(same(got[m].second, want[m].second)) << where;
      EXPECT_TRUE(same(got[m].third, want[m].third)) << where;
      EXPECT_TRUE(same(got[m].largest, want[m].largest)) << where;
      EXPECT_EQ(got[m].zero_multiplicity, want[m].zero_multiplicity) << where;
      EXPECT_EQ(got[m].zero_tolerance, want[m].zero_tolerance) << where;
      EXPECT_EQ(std::isnan(got[m].second), n < 2) << where;
      EXPECT_EQ(std::isnan(got[m].largest), !complete[m]) << where;
      if (complete[m]) {
        EXPECT_GE(got[m].zero_multiplicity, 1) << where;  // λ1 = 0
      }
    }
  }
}

TEST(BatchedEigenvaluesTest, StaysOnTheCudaDevice) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  at::Tensor x = at::randn({4, 16, 16}, at::kDouble);
  at::Tensor sym = x + x.transpose(1, 2);
  auto ev = BatchedSymmetricEigenvalues(sym.to(at::kCUDA));
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_TRUE(ev->is_cuda());
  EXPECT_TRUE(at::allclose(ev->cpu(), at::linalg_eigvalsh(sym), 1e-9, 1e-9));
  auto r = ComputeSpectral(testing::UniformBidir(6).to(at::kCUDA));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NEAR(r->matrices[0].thresholds[0].fiedler_value, 6.0, 1e-10);
}

}  // namespace
}  // namespace sinkscope::analyzers::spectral
