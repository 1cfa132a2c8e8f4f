// CORRECTED topology metrics (spec topology-spectral §8.1–8.3): closed forms (ring, uniform
// causal, sink removal), the β0 / threshold-graph cross-check of §8.1, permutation invariance,
// NaN handling, n = 1 and 2, and the error table. Tolerances: float32 filtration values are
// compared exactly where the inputs are built the same way, otherwise to 1e-6 relative; float64
// statistics to 1e-12.
#include "analyzers/topology/topology_metrics.h"

#include "analyzers/common/attention_matrices.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sinkscope::analyzers::topology {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

at::Tensor FromRows(const std::vector<std::vector<double>>& rows) {
  const auto n = static_cast<int64_t>(rows.size());
  at::Tensor t = at::zeros({n, n}, at::kDouble);
  auto acc = t.accessor<double, 2>();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) acc[i][j] = rows[i][j];
  }
  return t;
}

/// ring_bidir of spec Appendix B: A_ii = self, A_{i,i±1} = nb, the rest (1 − self − 2nb)/(n − 3).
at::Tensor Ring(int n, double self, double nb) {
  std::vector<std::vector<double>> a(n, std::vector<double>(n, (1 - self - 2 * nb) / (n - 3)));
  for (int i = 0; i < n; ++i) {
    a[i][i] = self;
    a[i][(i + 1) % n] = nb;
    a[i][(i + n - 1) % n] = nb;
  }
  return FromRows(a);
}

at::Tensor UniformCausal(int n) {
  std::vector<std::vector<double>> a(n, std::vector<double>(n, 0.0));
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j <= i; ++j) a[i][j] = 1.0 / (i + 1);
  }
  return FromRows(a);
}

/// Random row-stochastic matrix; causal zeroes the upper triangle before normalizing.
at::Tensor RandomAttention(int n, bool causal, std::mt19937& rng) {
  std::exponential_distribution<double> e(1.0);
  std::vector<std::vector<double>> a(n, std::vector<double>(n, 0.0));
  for (int i = 0; i < n; ++i) {
    double sum = 0;
    for (int j = 0; j < n; ++j) {
      if (causal && j > i) continue;
      a[i][j] = std::pow(e(rng), 3.0);  // heavy-tailed, like attention
      sum += a[i][j];
    }
    for (int j = 0; j < n; ++j) a[i][j] /= sum;
  }
  return FromRows(a);
}

TopologyMetricsOptions MeanOnly() {
  TopologyMetricsOptions o;
  o.heads = HeadSelection::kHeadMean;
  o.sink_rule = std::nullopt;
  return o;
}

std::vector<PersistenceInterval> Sorted(std::vector<PersistenceInterval> bars) {
  std::sort(bars.begin(), bars.end(), [](const auto& a, const auto& b) {
    return a.birth != b.birth ? a.birth < b.birth : a.death < b.death;
  });
  return bars;
}

TEST(TopologyMetricsTest, RingHasOneLongH1Bar) {
  // W = A (symmetric); neighbours at d = 1 − 0.35, every other pair at 1 − 0.04.
  auto r = ComputeTopologyMetrics(Ring(8, 0.1, 0.35), MeanOnly());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->matrices.size(), 1u);
  const TopologyVariant& v = r->matrices[0].with_sink;
  ASSERT_EQ(v.dims.size(), 2u);
  const auto near = static_cast<float>(1.0 - 0.35);
  const auto far = static_cast<float>(1.0 - (1.0 - 0.1 - 0.7) / 5);
  const BarcodeSummary& h1 = v.dims[1];
  ASSERT_EQ(h1.bars.size(), 1u);
  EXPECT_EQ(h1.bars[0].birth, near);
  EXPECT_EQ(h1.bars[0].death, far);
  EXPECT_NEAR(h1.total_persistence, double{far} - double{near}, 1e-12);
  EXPECT_EQ(h1.persistent_entropy, 0.0);  // one bar
  // H0: 7 equal bars (0, near) and one infinite bar; entropy of 7 equal parts is ln 7.
  const BarcodeSummary& h0 = v.dims[0];
  EXPECT_EQ(h0.num_pairs, 8);
  EXPECT_EQ(h0.num_finite, 7);
  EXPECT_EQ(h0.num_infinite, 1);
  EXPECT_NEAR(h0.persistent_entropy, std::log(7.0), 1e-12);
  EXPECT_NEAR(h0.max_persistence, double{near}, 1e-12);
  // Grid {0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999}: 8 points until 0.65, then one component; the
  // loop lives on [0.65, 0.96).
  EXPECT_EQ(h0.betti_curve, (std::vector<int64_t>{8, 1, 1, 1, 1, 1, 1}));
  EXPECT_EQ(h1.betti_curve, (std::vector<int64_t>{0, 1, 1, 1, 0, 0, 0}));
  // δ = 0.01, 0.05: the H1 bar (0.31) passes both; H0: 7 finite + the infinite one.
  EXPECT_EQ(h1.num_persistent, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(h0.num_persistent, (std::vector<int64_t>{8, 8}));
  // Per-row statistics: every row max is 0.35; entropy of (0.1, 0.35, 0.35, 5 × 0.04) in bits.
  EXPECT_NEAR(v.mean_row_max, 0.35, 1e-12);
  const double h =
      -(0.1 * std::log2(0.1) + 2 * 0.35 * std::log2(0.35) + 5 * 0.04 * std::log2(0.04));
  EXPECT_NEAR(v.mean_row_entropy_bits, h, 1e-12);
}

TEST(TopologyMetricsTest, UniformCausalH0DeathsAreKOverKPlusOne) {
  // max(A, Aᵀ) of A_ij = 1/(i+1), j ≤ i: token k joins the earlier ones at d = k/(k+1).
  const int n = 9;
  auto r = ComputeTopologyMetrics(UniformCausal(n), MeanOnly());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const BarcodeSummary& h0 = r->matrices[0].with_sink.dims[0];
  std::vector<PersistenceInterval> expected;
  double total = 0;
  for (int k = 1; k < n; ++k) {
    const auto d = static_cast<float>(1.0 - 1.0 / (k + 1));
    expected.push_back({0, d});
    total += d;
  }
  expected.push_back({0, kInf});
  EXPECT_EQ(Sorted(h0.bars), Sorted(expected));
  EXPECT_NEAR(h0.total_persistence, total, 1e-12);
  EXPECT_EQ(r->matrices[0].with_sink.dims[1].num_pairs, 0);
}

TEST(TopologyMetricsTest, BettiZeroCurveCountsComponentsOfThresholdGraph) {
  std::mt19937 rng(7);
  const std::vector<double> taus = {0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5};
  int checked = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const int n = 3 + trial % 18;
    at::Tensor a = RandomAttention(n, trial % 3 == 0, rng);
    auto acc = a.accessor<double, 2>();
    TopologyMetricsOptions o = MeanOnly();
    o.max_dim = 0;
    o.betti_grid.clear();
    std::vector<double> used;
    for (double tau : taus) {
      // Skip τ within float32 reach of an entry, where 1 − W and 1 − τ could round together.
      bool close = false;
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) close = close || std::abs(acc[i][j] - tau) < 1e-6;
      }
      if (close) continue;
      used.push_back(tau);
      o.betti_grid.push_back(1.0 - tau);
    }
    auto r = ComputeTopologyMetrics(a, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const auto& curve = r->matrices[0].with_sink.dims[0].betti_curve;
    ASSERT_EQ(curve.size(), used.size());
    for (size_t t = 0; t < used.size(); ++t) {
      std::vector<int> parent(n);
      std::iota(parent.begin(), parent.end(), 0);
      auto find = [&](int x) {
        while (parent[x] != x) x = parent[x] = parent[parent[x]];
        return x;
      };
      int components = n;
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < i; ++j) {
          if (std::max(acc[i][j], acc[j][i]) > used[t] && find(i) != find(j)) {
            parent[find(i)] = find(j);
            --components;
          }
        }
      }
      EXPECT_EQ(curve[t], components) << "trial " << trial << " tau " << used[t];
      ++checked;
    }
  }
  EXPECT_GT(checked, 200);
}

TEST(TopologyMetricsTest, MeanSymmetrizationHalvesCausalWeights) {
  at::Tensor a = FromRows({{1.0, 0.0}, {0.4, 0.6}});
  int64_t clamped = -1;
  auto max_d =
      AttentionDistances(a, Symmetrization::kMax, DistanceTransform::kOneMinus, 1e-12, &clamped);
  EXPECT_EQ(clamped, 0);
  EXPECT_EQ(max_d, (std::vector<float>{0.0f, 0.6f, 0.6f, 0.0f}));
  auto mean_d =
      AttentionDistances(a, Symmetrization::kMean, DistanceTransform::kOneMinus, 1e-12, nullptr);
  EXPECT_EQ(mean_d[1], 0.8f);
  auto log_d =
      AttentionDistances(a, Symmetrization::kMax, DistanceTransform::kNegLog, 1e-12, nullptr);
  EXPECT_EQ(log_d[2], static_cast<float>(-std::log(0.4 + 1e-12)));
  EXPECT_EQ(log_d[0], 0.0f);
  // A weight above 1 (rounding) gives a negative distance: clamped to 0 and counted.
  at::Tensor b = FromRows({{0.0, 1.0 + 1e-9}, {0.0, 0.0}});
  auto clamped_d =
      AttentionDistances(b, Symmetrization::kMax, DistanceTransform::kOneMinus, 1e-12, &clamped);
  EXPECT_EQ(clamped, 1);
  EXPECT_EQ(clamped_d[1], 0.0f);
}

TEST(TopologyMetricsTest, SummariesFollowTheirDefinitions) {
  const std::vector<PersistenceInterval> bars = {{0, 1}, {0, 1}, {0.5f, 2.5f}, {0, kInf}};
  BarcodeSummary s = SummarizeBarcode(0, bars, {0.5, 1.0, 3.0}, {1.5, 0.5}, false);
  EXPECT_TRUE(s.bars.empty());
  EXPECT_EQ(s.num_pairs, 4);
  EXPECT_EQ(s.num_finite, 3);
  EXPECT_EQ(s.num_infinite, 1);
  EXPECT_DOUBLE_EQ(s.total_persistence, 4.0);
  EXPECT_DOUBLE_EQ(s.max_persistence, 2.0);
  EXPECT_NEAR(s.persistent_entropy, -(2 * 0.25 * std::log(0.25) + 0.5 * std::log(0.5)), 1e-15);
  // β(0.5): birth ≤ 0.5 < death for all four; β(1): (0.5, 2.5) and (0, ∞); β(3): (0, ∞).
  EXPECT_EQ(s.betti_curve, (std::vector<int64_t>{4, 2, 1}));
  EXPECT_EQ(s.num_persistent, (std::vector<int64_t>{2, 4}));
  BarcodeSummary empty = SummarizeBarcode(1, {}, {0.5}, {0.01}, true);
  EXPECT_EQ(empty.persistent_entropy, 0.0);
  EXPECT_EQ(empty.total_persistence, 0.0);
  EXPECT_EQ(empty.betti_curve, (std::vector<int64_t>{0}));
}

TEST(TopologyMetricsTest, InvariantUnderTokenPermutation) {
  std::mt19937 rng(11);
  const int n = 14, heads = 3;
  std::vector<at::Tensor> hs;
  for (int h = 0; h < heads; ++h) hs.push_back(RandomAttention(n, false, rng));
  at::Tensor a = at::stack(hs);
  std::vector<int64_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  at::Tensor p = at::tensor(perm, at::kLong);
  at::Tensor b = a.index_select(1, p).index_select(2, p);

  TopologyMetricsOptions o;
  o.sink_rule = SinkRule::kMaxColumnMass;
  auto ra = ComputeTopologyMetrics(a, o);
  auto rb = ComputeTopologyMetrics(b, o);
  ASSERT_TRUE(ra.ok() && rb.ok());
  ASSERT_EQ(ra->matrices.size(), 4u);
  for (size_t k = 0; k < ra->matrices.size(); ++k) {
    const auto& x = ra->matrices[k];
    const auto& y = rb->matrices[k];
    EXPECT_EQ(x.head, y.head);
    EXPECT_EQ(x.sink_index, perm[static_cast<size_t>(y.sink_index)]);
    EXPECT_NEAR(x.sink_mass, y.sink_mass, 1e-12);
    ASSERT_TRUE(x.without_sink.has_value() && y.without_sink.has_value());
    for (const auto* pair : {&x.with_sink, &*x.without_sink}) {
      const TopologyVariant& vy = pair == &x.with_sink ? y.with_sink : *y.without_sink;
      EXPECT_NEAR(pair->mean_row_max, vy.mean_row_max, 1e-12);
      EXPECT_NEAR(pair->mean_row_entropy_bits, vy.mean_row_entropy_bits, 1e-12);
      for (int d = 0; d < 2; ++d) {
        EXPECT_EQ(Sorted(pair->dims[d].bars), Sorted(vy.dims[d].bars)) << "matrix " << k;
        EXPECT_EQ(pair->dims[d].betti_curve, vy.dims[d].betti_curve);
        EXPECT_NEAR(pair->dims[d].persistent_entropy, vy.dims[d].persistent_entropy, 1e-12);
      }
    }
  }
}

TEST(TopologyMetricsTest, WithoutSinkDropsTheSinkAndItsMass) {
  // sink_causal_n12_s0.6 (Appendix B): without token 0 and renormalized, rows i ≥ 1 are uniform
  // over 1..i, i.e. uniform_causal(11).
  const int n = 12;
  const double s = 0.6;
  std::vector<std::vector<double>> rows(n, std::vector<double>(n, 0.0));
  rows[0][0] = 1;
  double mass = 1;
  for (int i = 1; i < n; ++i) {
    for (int j = 1; j <= i; ++j) rows[i][j] = (1 - s) / (i + 1);
    rows[i][0] = s + (1 - s) / (i + 1);
    mass += rows[i][0];
  }
  TopologyMetricsOptions o;
  o.heads = HeadSelection::kHeadMean;
  o.sink_rule = SinkRule::kMaxColumnMass;
  auto r = ComputeTopologyMetrics(FromRows(rows), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const TopologyMatrixResult& m = r->matrices[0];
  EXPECT_EQ(m.sink_index, 0);
  EXPECT_NEAR(m.sink_mass, mass / n, 1e-12);
  ASSERT_TRUE(m.without_sink.has_value());
  EXPECT_EQ(m.without_sink->removed_token, 0);
  EXPECT_EQ(m.without_sink->num_tokens, n - 1);
  EXPECT_EQ(m.with_sink.removed_token, -1);
  // With the sink every token is within 0.4 of it: one component at ε = 0.5. Without it, only
  // the pair at d = 1/2 has merged by 0.5 (its bar dies at 0.5 exactly): 10 components.
  EXPECT_EQ(m.with_sink.dims[0].betti_curve[0], 1);
  EXPECT_EQ(m.without_sink->dims[0].betti_curve[0], 10);
  auto u = ComputeTopologyMetrics(UniformCausal(n - 1), MeanOnly());
  ASSERT_TRUE(u.ok());
  const auto& bars = m.without_sink->dims[0].bars;
  const auto& expected = u->matrices[0].with_sink.dims[0].bars;
  ASSERT_EQ(bars.size(), expected.size());
  auto sb = Sorted(bars), se = Sorted(expected);
  for (size_t k = 0; k < sb.size(); ++k) {
    EXPECT_FLOAT_EQ(sb[k].death, se[k].death);
  }
  // The sink's row max (1) is gone: the mean row max drops from above 0.6 to the uniform rows'.
  EXPECT_GT(m.with_sink.mean_row_max, 0.6);
  EXPECT_NEAR(m.without_sink->mean_row_max, u->matrices[0].with_sink.mean_row_max, 1e-12);
}

TEST(TopologyMetricsTest, SinkInTheMiddleIsRemovedLikeRemoveToken) {
  // A sink column in the middle (tied with a later column: the lower index wins): the
  // without-sink variant equals the metrics of RemoveToken's matrix (the ATen reference).
  std::mt19937 rng(11);
  at::Tensor a = RandomAttention(9, false, rng);
  a.select(1, 4).add_(2.0);
  a.select(1, 6).copy_(a.select(1, 4));
  a = a / a.sum(1, /*keepdim=*/true);
  TopologyMetricsOptions o = MeanOnly();
  o.sink_rule = SinkRule::kMaxColumnMass;
  auto r = ComputeTopologyMetrics(a, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const TopologyMatrixResult& m = r->matrices[0];
  EXPECT_EQ(m.sink_index, 4);
  EXPECT_NEAR(m.sink_mass, a.select(1, 4).mean().item<double>(), 1e-15);
  ASSERT_TRUE(m.without_sink.has_value());
  auto reduced = RemoveToken(a, 4);
  ASSERT_TRUE(reduced.ok());
  auto ref = ComputeTopologyMetrics(*reduced, MeanOnly());
  ASSERT_TRUE(ref.ok());
  const TopologyVariant& want = ref->matrices[0].with_sink;
  EXPECT_NEAR(m.without_sink->mean_row_max, want.mean_row_max, 1e-15);
  EXPECT_NEAR(m.without_sink->mean_row_entropy_bits, want.mean_row_entropy_bits, 1e-14);
  for (size_t k = 0; k < want.dims.size(); ++k) {
    auto got = Sorted(m.without_sink->dims[k].bars), exp = Sorted(want.dims[k].bars);
    ASSERT_EQ(got.size(), exp.size()) << "dim " << k;
    for (size_t b = 0; b < got.size(); ++b) {
      EXPECT_FLOAT_EQ(got[b].birth, exp[b].birth);
      EXPECT_FLOAT_EQ(got[b].death, exp[b].death);
    }
  }
}

// The without-sink variant is computed on the dense copy; it must equal analyzing the matrix
// that analyzers::RemoveToken (libtorch) makes, including a row left without mass (row 1 puts
// all its mass on token 0 here; once token 0 is gone it stays zero and is not counted).
TEST(TopologyMetricsTest, WithoutSinkEqualsAnalyzingRemoveTokensMatrix) {
  std::mt19937 rng(9);
  for (bool causal : {false, true}) {
    const int n = 40;
    at::Tensor a = RandomAttention(n, causal, rng);
    a.select(0, 1).zero_();
    a.index_put_({1, 0}, 1.0);
    for (SinkRule rule : {SinkRule::kFirstToken, SinkRule::kMaxColumnMass}) {
      TopologyMetricsOptions o = MeanOnly();
      o.sink_rule = rule;
      auto full = ComputeTopologyMetrics(a, o);
      ASSERT_TRUE(full.ok()) << full.status().ToString();
      const TopologyMatrixResult& m = full->matrices[0];
      ASSERT_TRUE(m.without_sink.has_value());
      auto reduced = analyzers::RemoveToken(a, m.sink_index);
      ASSERT_TRUE(reduced.ok());
      auto expected = ComputeTopologyMetrics(*reduced, MeanOnly());
      ASSERT_TRUE(expected.ok());
      const TopologyVariant& got = *m.without_sink;
      const TopologyVariant& want = expected->matrices[0].with_sink;
      EXPECT_EQ(got.num_tokens, n - 1);
      EXPECT_EQ(got.num_nonempty_rows, want.num_nonempty_rows);
      if (m.sink_index == 0) {
        EXPECT_EQ(got.num_nonempty_rows, n - 2);
      }
      EXPECT_NEAR(got.mean_row_max, want.mean_row_max, 1e-12);
      EXPECT_NEAR(got.mean_row_entropy_bits, want.mean_row_entropy_bits, 1e-12);
      ASSERT_EQ(got.dims.size(), want.dims.size());
      for (size_t k = 0; k < got.dims.size(); ++k) {
        EXPECT_EQ(Sorted(got.dims[k].bars), Sorted(want.dims[k].bars))
            << "causal " << causal << ", H" << k;
      }
    }
  }
}

TEST(TopologyMetricsTest, NonFiniteMatrixIsInvalidAndTheRestIsComputed) {
  std::mt19937 rng(3);
  at::Tensor a = at::stack({RandomAttention(6, false, rng), RandomAttention(6, false, rng),
                            RandomAttention(6, true, rng)});
  a[1][2][3] = std::numeric_limits<double>::quiet_NaN();
  a[1][4][4] = std::numeric_limits<double>::infinity();
  auto r = ComputeTopologyMetrics(a, TopologyMetricsOptions{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->matrices.size(), 4u);
  EXPECT_EQ(r->num_heads, 3);
  const TopologyMatrixResult& bad = r->matrices[1];
  EXPECT_EQ(bad.head, 1);
  EXPECT_FALSE(bad.valid);
  EXPECT_EQ(bad.health.num_nan, 1);
  EXPECT_EQ(bad.health.num_posinf, 1);
  EXPECT_TRUE(std::isnan(bad.sink_mass));
  EXPECT_TRUE(std::isnan(bad.with_sink.mean_row_max));
  EXPECT_TRUE(bad.with_sink.dims.empty());
  EXPECT_FALSE(bad.without_sink.has_value());
  EXPECT_FALSE(r->matrices[3].valid);  // the head mean inherits the NaN
  for (size_t k : {size_t{0}, size_t{2}}) {
    EXPECT_TRUE(r->matrices[k].valid);
    EXPECT_EQ(r->matrices[k].with_sink.dims.size(), 2u);
    EXPECT_EQ(r->matrices[k].with_sink.dims[0].num_pairs, 6);
    EXPECT_TRUE(r->matrices[k].without_sink.has_value());
  }
}

TEST(TopologyMetricsTest, OneAndTwoTokensAreDefined) {
  TopologyMetricsOptions o;
  o.heads = HeadSelection::kHeadMean;
  auto one = ComputeTopologyMetrics(FromRows({{1.0}}), o);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  const TopologyMatrixResult& m1 = one->matrices[0];
  EXPECT_EQ(m1.sink_index, 0);
  EXPECT_EQ(m1.sink_mass, 1.0);
  EXPECT_FALSE(m1.without_sink.has_value());
  ASSERT_EQ(m1.with_sink.dims.size(), 2u);
  EXPECT_EQ(m1.with_sink.dims[0].bars, (std::vector<PersistenceInterval>{{0, kInf}}));
  EXPECT_EQ(m1.with_sink.dims[1].num_pairs, 0);

  auto two = ComputeTopologyMetrics(FromRows({{1.0, 0.0}, {0.3, 0.7}}), o);
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  const TopologyMatrixResult& m2 = two->matrices[0];
  EXPECT_EQ(Sorted(m2.with_sink.dims[0].bars),
            (std::vector<PersistenceInterval>{{0, 0.7f}, {0, kInf}}));
  EXPECT_NEAR(m2.sink_mass, 0.65, 1e-12);
  ASSERT_TRUE(m2.without_sink.has_value());
  EXPECT_EQ(m2.without_sink->num_tokens, 1);
  EXPECT_EQ(m2.without_sink->dims[0].bars, (std::vector<PersistenceInterval>{{0, kInf}}));
  EXPECT_NEAR(m2.without_sink->mean_row_max, 1.0, 1e-12);
}

TEST(TopologyMetricsTest, RejectsBadShapesOptionsAndSizes) {
  struct Case {
    at::Tensor input;
    TopologyMetricsOptions options;
    StatusCode code;
    const char* fragment;
  };
  TopologyMetricsOptions dim3;
  dim3.max_dim = 3;
  TopologyMetricsOptions eps;
  eps.distance = DistanceTransform::kNegLog;
  eps.log_epsilon = 0;
  TopologyMetricsOptions small;
  small.max_tokens = 4;
  TopologyMetricsOptions dim2;
  dim2.max_dim = 2;
  TopologyMetricsOptions delta;
  delta.persistence_thresholds = {-0.1};
  const Case cases[] = {
      {at::zeros({3, 4}), {}, StatusCode::kInvalidArgument, "must be square, got shape [3, 4]"},
      {at::zeros({2, 2, 2, 2}), {}, StatusCode::kInvalidArgument, "[n, n] or [heads, n, n]"},
      {at::zeros({0, 0}), {}, StatusCode::kInvalidArgument, "is empty"},
      {at::zeros({3, 3}, at::kInt), {}, StatusCode::kInvalidArgument, "floating point"},
      {at::eye(3), dim3, StatusCode::kInvalidArgument, "max_dim must be 0, 1 or 2"},
      {at::eye(3), eps, StatusCode::kInvalidArgument, "log_epsilon"},
      {at::eye(3), delta, StatusCode::kInvalidArgument, "persistence_thresholds"},
      {at::eye(5), small, StatusCode::kResourceExhausted, "5 tokens, more than max_tokens = 4"},
      {at::eye(300), dim2, StatusCode::kResourceExhausted, "max_dim = 2 is limited to 256"},
  };
  for (const auto& c : cases) {
    auto r = ComputeTopologyMetrics(c.input, c.options);
    ASSERT_FALSE(r.ok()) << c.fragment;
    EXPECT_EQ(r.status().code(), c.code) << r.status().ToString();
    EXPECT_NE(r.status().message().find(c.fragment), std::string::npos) << r.status().message();
  }
}

TEST(TopologyMetricsTest, ParsesNamesAndRoundTrips) {
  for (auto s : {Symmetrization::kMax, Symmetrization::kMean}) {
    EXPECT_EQ(*ParseSymmetrization(SymmetrizationName(s)), s);
  }
  for (auto t : {DistanceTransform::kOneMinus, DistanceTransform::kNegLog}) {
    EXPECT_EQ(*ParseDistanceTransform(DistanceTransformName(t)), t);
  }
  EXPECT_EQ(ParseSymmetrization("min").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseDistanceTransform("log").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sinkscope::analyzers::topology
