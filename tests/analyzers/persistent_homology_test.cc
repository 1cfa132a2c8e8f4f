// analyzers/topology/persistent_homology: closed forms, limits and input validation. Agreement
// with the ripser program on random matrices is in ripser_agreement_test.cc.
#include "analyzers/topology/persistent_homology.h"

#include "analyzers/topology/filtration_internal.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace sinkscope::analyzers::topology {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<float> Euclidean(const std::vector<std::vector<double>>& points) {
  const int64_t n = static_cast<int64_t>(points.size());
  std::vector<float> d(n * n, 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (size_t c = 0; c < points[i].size(); ++c) {
        s += (points[i][c] - points[j][c]) * (points[i][c] - points[j][c]);
      }
      d[i * n + j] = static_cast<float>(std::sqrt(s));
    }
  }
  return d;
}

PersistenceResult Compute(const std::vector<float>& full, int max_dim = 1, float threshold = kInf) {
  const int64_t n = static_cast<int64_t>(std::lround(std::sqrt(full.size())));
  PersistenceOptions options;
  options.max_dim = max_dim;
  options.threshold = threshold;
  auto result = ComputePersistence(DistanceMatrixView::Full(full.data(), n), options);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : PersistenceResult{};
}

std::vector<PersistenceInterval> Sorted(std::vector<PersistenceInterval> bars) {
  std::sort(bars.begin(), bars.end(), [](const auto& a, const auto& b) {
    return a.birth < b.birth || (a.birth == b.birth && a.death < b.death);
  });
  return bars;
}

int64_t CountInfinite(const std::vector<PersistenceInterval>& bars) {
  return std::count_if(bars.begin(), bars.end(), [](const auto& b) { return std::isinf(b.death); });
}

TEST(RipsTest, CircleHasOneLongH1Bar) {
  const int n = 48;
  std::vector<std::vector<double>> points;
  for (int i = 0; i < n; ++i) {
    points.push_back({std::cos(2 * M_PI * i / n), std::sin(2 * M_PI * i / n)});
  }
  auto d = Euclidean(points);
  PersistenceResult r = Compute(d);
  ASSERT_EQ(r.barcodes.size(), 2u);
  // H0: n − 1 merges at the neighbour distance 2 sin(π/n) (up to float rounding), 1 infinite.
  ASSERT_EQ(r.barcodes[0].size(), static_cast<size_t>(n));
  EXPECT_EQ(CountInfinite(r.barcodes[0]), 1);
  for (const auto& bar : r.barcodes[0]) {
    if (!std::isinf(bar.death)) {
      EXPECT_NEAR(bar.death, 2 * std::sin(M_PI / n), 1e-6);
    }
  }
  // H1: one long bar, born when the polygon closes, dying when the inscribed equilateral
  // triangles (side √3, n divisible by 3) fill it.
  std::vector<PersistenceInterval> long_bars;
  for (const auto& bar : r.barcodes[1]) {
    if (bar.death - bar.birth > 0.5f) long_bars.push_back(bar);
  }
  ASSERT_EQ(long_bars.size(), 1u);
  EXPECT_NEAR(long_bars[0].birth, 2 * std::sin(M_PI / n), 1e-6);
  EXPECT_NEAR(long_bars[0].death, std::sqrt(3.0), 1e-6);
}

TEST(RipsTest, SquareIsAFourCycle) {
  auto d = Euclidean({{0, 0}, {1, 0}, {1, 1}, {0, 1}});
  PersistenceResult r = Compute(d);
  EXPECT_EQ(Sorted(r.barcodes[0]),
            (std::vector<PersistenceInterval>{{0, 1}, {0, 1}, {0, 1}, {0, kInf}}));
  EXPECT_EQ(r.barcodes[1],
            (std::vector<PersistenceInterval>{{1, static_cast<float>(std::sqrt(2.0))}}));
  EXPECT_EQ(r.enclosing_radius, static_cast<float>(std::sqrt(2.0)));
}

// A hexagon (sides 1) whose chords all tie at 2, the enclosing radius: the cycle lives on [1, 2).
// The small path never ranks the edges of diameter r (the complex is a cone there) and ends the
// classes still alive at r; an explicit threshold equal to r must give the same, one just below it
// an essential class.
TEST(RipsTest, ClassesAliveAtTheEnclosingRadiusDieThere) {
  const int64_t n = 6;
  std::vector<float> d(n * n, 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const int64_t gap = std::min((i - j + n) % n, (j - i + n) % n);
      d[i * n + j] = gap == 0 ? 0.0f : (gap == 1 ? 1.0f : 2.0f);
    }
  }
  for (float threshold : {kInf, 2.0f}) {
    PersistenceResult r = Compute(d, 1, threshold);
    EXPECT_EQ(r.enclosing_radius, 2.0f);
    EXPECT_EQ(r.barcodes[1], (std::vector<PersistenceInterval>{{1, 2}})) << threshold;
    EXPECT_EQ(CountInfinite(r.barcodes[0]), 1);
  }
  PersistenceResult below = Compute(d, 1, 1.5f);
  EXPECT_EQ(below.barcodes[1], (std::vector<PersistenceInterval>{{1, kInf}}));
  // Components alive below r merge at r; all-zero distances (r = 0) leave one component only.
  std::vector<float> two_pairs = {0, 1, 3, 3,  //
                                  1, 0, 3, 3,  //
                                  3, 3, 0, 1,  //
                                  3, 3, 1, 0};
  PersistenceResult pairs = Compute(two_pairs, 1);
  EXPECT_EQ(pairs.enclosing_radius, 3.0f);
  EXPECT_EQ(Sorted(pairs.barcodes[0]),
            (std::vector<PersistenceInterval>{{0, 1}, {0, 1}, {0, 3}, {0, kInf}}));
  EXPECT_EQ(pairs.num_edges, 6);
  PersistenceResult zeros = Compute(std::vector<float>(25, 0.0f), 1);
  EXPECT_EQ(zeros.barcodes[0], (std::vector<PersistenceInterval>{{0, kInf}}));
  EXPECT_TRUE(zeros.barcodes[1].empty());
}

TEST(RipsTest, ThresholdLeavesEssentialClasses) {
  auto d = Euclidean({{0, 0}, {1, 0}, {1, 1}, {0, 1}});
  // At 1 the square's cycle is born but not filled: an infinite H1 bar, one component.
  PersistenceResult r = Compute(d, 1, 1.0f);
  EXPECT_EQ(r.barcodes[1], (std::vector<PersistenceInterval>{{1, kInf}}));
  EXPECT_EQ(CountInfinite(r.barcodes[0]), 1);
  EXPECT_EQ(r.threshold_used, 1.0f);
  // Below every distance: four components, nothing else.
  r = Compute(d, 1, 0.5f);
  EXPECT_EQ(r.barcodes[0], (std::vector<PersistenceInterval>(4, {0, kInf})));
  EXPECT_TRUE(r.barcodes[1].empty());
  // A threshold above the enclosing radius changes nothing.
  EXPECT_EQ(Compute(d, 1, 100.0f).barcodes, Compute(d).barcodes);
}

TEST(RipsTest, SeparatedClustersGiveKMinusOneLongH0Bars) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> jitter(0.0, 0.3);
  for (int k : {1, 2, 3, 5, 8}) {
    std::vector<std::vector<double>> points;
    for (int c = 0; c < k; ++c) {
      for (int p = 0; p < 6; ++p) points.push_back({100.0 * c + jitter(rng), jitter(rng)});
    }
    PersistenceResult r = Compute(Euclidean(points));
    int64_t long_finite = 0, short_finite = 0;
    for (const auto& bar : r.barcodes[0]) {
      if (std::isinf(bar.death)) continue;
      (bar.death > 50 ? long_finite : short_finite) += 1;
    }
    EXPECT_EQ(long_finite, k - 1) << k << " clusters";
    EXPECT_EQ(CountInfinite(r.barcodes[0]), 1);
    // Within a cluster the merges are at positive distances (no duplicate points drawn).
    EXPECT_EQ(short_finite, 6 * k - k) << k << " clusters";
  }
}

TEST(RipsTest, OctahedronHasOneH2Bar) {
  auto d = Euclidean({{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}, {0, 0, 1}, {0, 0, -1}});
  PersistenceResult r = Compute(d, 2);
  ASSERT_EQ(r.barcodes.size(), 3u);
  EXPECT_TRUE(r.barcodes[1].empty());
  EXPECT_EQ(r.barcodes[2],
            (std::vector<PersistenceInterval>{{static_cast<float>(std::sqrt(2.0)), 2.0f}}));
}

TEST(RipsTest, WideSimplexIndicesAbove32Bits) {
  // n = 3000: triangle indices reach C(3000, 3) ≈ 4.5e9 > 2³², which takes the wide-key heap.
  // A square (sides 1, diagonals 1.5) on the last four vertices and an isolated rest (3), with a
  // threshold of 2 so that only the square's edges enter.
  const int64_t n = 3000;
  std::vector<float> d(n * n, 3.0f);
  for (int64_t i = 0; i < n; ++i) d[i * n + i] = 0;
  const int64_t v[4] = {n - 4, n - 3, n - 2, n - 1};
  for (int a = 0; a < 4; ++a) {
    for (int b = 0; b < 4; ++b) {
      if (a == b) continue;
      float value = (a + b) % 2 == 1 ? 1.0f : 1.5f;  // neighbours on the cycle 0-1-2-3-0
      d[v[a] * n + v[b]] = value;
    }
  }
  PersistenceResult r = Compute(d, 1, 2.0f);
  EXPECT_EQ(r.barcodes[1], (std::vector<PersistenceInterval>{{1.0f, 1.5f}}));
  EXPECT_EQ(CountInfinite(r.barcodes[0]), n - 3);
  EXPECT_EQ(r.barcodes[0].size(), static_cast<size_t>(n));
  // Below the diagonals the cycle never dies.
  r = Compute(d, 1, 1.2f);
  EXPECT_EQ(r.barcodes[1], (std::vector<PersistenceInterval>{{1.0f, kInf}}));
}

TEST(RipsTest, TinyInputs) {
  // n = 0: nothing at all.
  PersistenceResult r0 = Compute({});
  EXPECT_EQ(r0.num_points, 0);
  EXPECT_TRUE(r0.barcodes[0].empty());
  EXPECT_TRUE(r0.barcodes[1].empty());
  // n = 1: one point, one infinite class.
  PersistenceResult r1 = Compute({0.0f});
  EXPECT_EQ(r1.barcodes[0], (std::vector<PersistenceInterval>{{0, kInf}}));
  EXPECT_TRUE(r1.barcodes[1].empty());
  // n = 2: a finite bar at the distance, unless the points coincide.
  PersistenceResult r2 = Compute({0.0f, 3.0f, 3.0f, 0.0f});
  EXPECT_EQ(r2.barcodes[0], (std::vector<PersistenceInterval>{{0, 3.0f}, {0, kInf}}));
  EXPECT_TRUE(r2.barcodes[1].empty());
  PersistenceResult r2z = Compute({0.0f, 0.0f, 0.0f, 0.0f});
  EXPECT_EQ(r2z.barcodes[0], (std::vector<PersistenceInterval>{{0, kInf}}));
}

TEST(RipsTest, PermutationInvariantAndReadsOnlyTheLowerTriangle) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  const int64_t n = 30;
  std::vector<float> d(n * n, 0.0f);
  for (int64_t i = 1; i < n; ++i) {
    for (int64_t j = 0; j < i; ++j) d[i * n + j] = d[j * n + i] = u(rng);
  }
  std::vector<int64_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<float> p(n * n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) p[i * n + j] = d[perm[i] * n + perm[j]];
  }
  PersistenceResult a = Compute(d), b = Compute(p);
  for (int dim = 0; dim <= 1; ++dim) {
    EXPECT_EQ(Sorted(a.barcodes[dim]), Sorted(b.barcodes[dim])) << "dim " << dim;
  }
  // Garbage in the upper triangle and the diagonal is ignored.
  std::vector<float> lower_only = d;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = i; j < n; ++j) lower_only[i * n + j] = 42.0f;
  }
  EXPECT_EQ(Compute(lower_only).barcodes, a.barcodes);
  // The packed lower-triangular layout gives the same result.
  std::vector<float> packed;
  for (int64_t i = 1; i < n; ++i) {
    for (int64_t j = 0; j < i; ++j) packed.push_back(d[i * n + j]);
  }
  auto c = ComputePersistence(DistanceMatrixView::LowerTriangular(packed.data(), n), {});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->barcodes, a.barcodes);
}

TEST(RipsTest, RejectsBadInputsWithCounts) {
  std::vector<float> d(9, 1.0f);
  d[1] = std::nanf("");
  d[5] = std::nanf("");
  d[6] = kInf;
  auto r = ComputePersistence(DistanceMatrixView::Full(d.data(), 3), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("2 NaN, 1 infinite and 0 negative"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("first at row 0, column 1"), std::string::npos);

  std::vector<float> negative = {0, -1, -1, 0};
  r = ComputePersistence(DistanceMatrixView::Full(negative.data(), 2), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("1 negative"), std::string::npos) << r.status().message();

  struct Row {
    DistanceMatrixView view;
    PersistenceOptions options;
    StatusCode code;
    std::string fragment;
  };
  std::vector<float> ok(16, 1.0f);
  PersistenceOptions dim3, nan_threshold, small_limit, huge_limit, dim2;
  dim2.max_dim = 2;
  std::vector<float> big((kMaxPointsForDim2 + 1) * (kMaxPointsForDim2 + 1), 1.0f);
  dim3.max_dim = 3;
  nan_threshold.threshold = std::nanf("");
  small_limit.max_points = 3;
  huge_limit.max_points = kMaxPointsLimit + 1;
  const std::vector<Row> rows = {
      {{ok.data(), 4, 3, 3, DistanceMatrixView::Layout::kFull},
       {},
       StatusCode::kInvalidArgument,
       "must be square, got 4x3"},
      {DistanceMatrixView::Full(ok.data(), 4), dim3, StatusCode::kInvalidArgument,
       "max_dim must be 0, 1 or 2"},
      {DistanceMatrixView::Full(ok.data(), 4), nan_threshold, StatusCode::kInvalidArgument,
       "threshold is NaN"},
      {DistanceMatrixView::Full(ok.data(), 4), small_limit, StatusCode::kResourceExhausted,
       "4 points, more than the limit of 3"},
      {DistanceMatrixView::Full(ok.data(), 4), huge_limit, StatusCode::kInvalidArgument,
       "max_points must be in"},
      {DistanceMatrixView::Full(nullptr, 4), {}, StatusCode::kInvalidArgument, "no data"},
      {DistanceMatrixView::Full(big.data(), kMaxPointsForDim2 + 1), dim2,
       StatusCode::kResourceExhausted, "H2 is limited to 256 points"},
  };
  for (const Row& row : rows) {
    auto result = ComputePersistence(row.view, row.options);
    ASSERT_FALSE(result.ok()) << row.fragment;
    EXPECT_EQ(result.status().code(), row.code) << result.status().ToString();
    EXPECT_NE(result.status().message().find(row.fragment), std::string::npos)
        << result.status().message();
  }

  // Which entries must be what (a fast pass decides, a counting pass reports): the strict lower
  // triangle non-negative and finite, every other entry of a full matrix finite (any sign).
  auto expect_rejected = [](const DistanceMatrixView& view, const std::string& fragment) {
    auto rejected = ComputePersistence(view, {});
    ASSERT_FALSE(rejected.ok()) << fragment;
    EXPECT_NE(rejected.status().message().find(fragment), std::string::npos)
        << rejected.status().message();
  };
  std::vector<float> full = {-2, -1, 5, 1, -3, -1, 1, 1, 0};  // 3 × 3, negatives above/on diagonal
  EXPECT_TRUE(ComputePersistence(DistanceMatrixView::Full(full.data(), 3), {}).ok());
  full[5] = kInf;  // above the diagonal
  expect_rejected(DistanceMatrixView::Full(full.data(), 3),
                  "0 NaN, 1 infinite and 0 negative entries (first at row 1, column 2)");
  std::vector<float> lower = {1, 2, 3, 4, 5, 6};  // 4 points, packed
  EXPECT_TRUE(ComputePersistence(DistanceMatrixView::LowerTriangular(lower.data(), 4), {}).ok());
  lower[4] = -0.5f;
  lower[5] = std::nanf("");
  expect_rejected(DistanceMatrixView::LowerTriangular(lower.data(), 4),
                  "1 NaN, 0 infinite and 1 negative entries (first at row 3, column 1)");
}

// One workspace through matrices of changing size, on both sides of the small-matrix path
// (n ≤ 64), with and without ties and thresholds: each result equals a fresh call's.
TEST(RipsTest, ReusedWorkspaceGivesTheSameBarcodes) {
  std::mt19937 rng(7);
  PersistenceWorkspace workspace;
  for (int64_t n : {64, 5, 40, 80, 64, 3, 65, 20, 64}) {
    for (bool ties : {false, true}) {
      std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
      std::vector<float> d(n * n, 0.0f);
      for (int64_t i = 1; i < n; ++i) {
        for (int64_t j = 0; j < i; ++j) {
          float v = uniform(rng);
          if (ties) v = std::round(v * 8) / 8;  // many equal distances
          d[i * n + j] = d[j * n + i] = v;
        }
      }
      for (float threshold : {kInf, 0.5f}) {
        PersistenceOptions options;
        options.threshold = threshold;
        auto fresh = ComputePersistence(DistanceMatrixView::Full(d.data(), n), options);
        auto reused =
            ComputePersistence(DistanceMatrixView::Full(d.data(), n), options, &workspace);
        ASSERT_TRUE(fresh.ok() && reused.ok());
        ASSERT_EQ(fresh->barcodes.size(), reused->barcodes.size());
        for (size_t k = 0; k < fresh->barcodes.size(); ++k) {
          EXPECT_EQ(Sorted(fresh->barcodes[k]), Sorted(reused->barcodes[k]))
              << "n = " << n << ", ties = " << ties << ", threshold = " << threshold << ", H" << k;
        }
      }
    }
  }
}

// The small-matrix H1 path (n ≤ 64, H1 the top dimension) against the general reduction, which
// computes H1 when H2 is asked for too: identical H1 barcodes on matrices that reach each of its
// branches — distinct distances (every edge alone in its group: emergent pivots without ranking),
// distances rounded to 1/8 (tie groups of every size, bitset ranks for groups of ≥ 512
// triangles), attention-like 1 − max(A, Aᵀ) with many entries at the enclosing radius (the cone
// cut), with and without a threshold — and the same number of H0 bars.
TEST(RipsTest, SmallPathAgreesWithTheGeneralReductionInH1) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  int64_t num_h1_bars = 0;
  for (int64_t n : {4, 9, 17, 33, 48, 64}) {
    for (int kind = 0; kind < 3; ++kind) {
      std::vector<float> d(n * n, 0.0f);
      for (int64_t i = 1; i < n; ++i) {
        for (int64_t j = 0; j < i; ++j) {
          float v = uniform(rng);
          if (kind == 1) v = std::round(v * 8) / 8;
          if (kind == 2) v = v < 0.7f ? 1.0f : 1.0f - (v - 0.7f);  // 70 % at distance 1
          d[i * n + j] = d[j * n + i] = v;
        }
      }
      for (float threshold : {kInf, 0.6f}) {
        PersistenceOptions small, general;
        small.threshold = general.threshold = threshold;
        small.max_dim = 1;
        general.max_dim = 2;
        auto a = ComputePersistence(DistanceMatrixView::Full(d.data(), n), small);
        auto b = ComputePersistence(DistanceMatrixView::Full(d.data(), n), general);
        ASSERT_TRUE(a.ok() && b.ok());
        EXPECT_EQ(Sorted(a->barcodes[0]), Sorted(b->barcodes[0])) << n << ", kind " << kind;
        EXPECT_EQ(Sorted(a->barcodes[1]), Sorted(b->barcodes[1]))
            << "n = " << n << ", kind " << kind << ", threshold " << threshold;
        num_h1_bars += static_cast<int64_t>(a->barcodes[1].size());
      }
    }
  }
  EXPECT_GT(num_h1_bars, 500);  // the inputs do have H1
}

// Kruskal's components (label per vertex, smaller side relabelled) against a plain label array
// merged by rewriting every vertex, over random unions with repeats, reused across sizes.
TEST(RipsTest, KruskalComponentsMatchANaiveLabelling) {
  std::mt19937 rng(3);
  internal::Components components;
  for (int64_t n : {1, 2, 7, 64, 300}) {
    components.Reset(n);
    std::vector<int64_t> naive(n);
    std::iota(naive.begin(), naive.end(), int64_t{0});
    std::uniform_int_distribution<int64_t> vertex(0, n - 1);
    for (int step = 0; step < 4 * n; ++step) {
      const int64_t a = vertex(rng), b = vertex(rng);
      const bool same = naive[a] == naive[b];
      ASSERT_EQ(components.Same(a, b), same) << "n = " << n << ", step " << step;
      if (same) continue;
      components.Merge(a, b);
      const int64_t gone = naive[b];
      for (int64_t& label : naive) label = label == gone ? naive[a] : label;
    }
    std::vector<int64_t> roots(naive);
    std::sort(roots.begin(), roots.end());
    const int64_t num_components = std::unique(roots.begin(), roots.end()) - roots.begin();
    int64_t representatives = 0;
    for (int64_t v = 0; v < n; ++v) {
      representatives += components.IsRepresentative(v) ? 1 : 0;
      for (int64_t w = 0; w < n; ++w) {
        ASSERT_EQ(components.Same(v, w), naive[v] == naive[w]) << n << ": " << v << ", " << w;
      }
    }
    EXPECT_EQ(representatives, num_components) << "n = " << n;
  }
}

}  // namespace
}  // namespace sinkscope::analyzers::topology
