// PAPER topology metrics (topology.ipynb, spec topology-spectral §3.3–3.4): the golden vectors of
// spec/reference (tests/fixtures/analyzers/golden_topology_spectral.json, "topology" entries,
// 1e-6 relative, exact zeros 1e-9 absolute), the causal closed forms of §3.3.1, ripser.py's
// essential H1 classes and dense path, downsampling, float32 density, per-head metrics, head
// specialization, NaN handling, n = 1 and 2, and the error table.
#include "analyzers/topology/paper_topology_metrics.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/test_support.h"

namespace sinkscope::analyzers::topology {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
using Rows = std::vector<std::vector<double>>;

/// Built in float64 like the reference script, then cast to float32 (Appendix B).
at::Tensor ToFloat32(const Rows& rows) {
  const auto n = static_cast<int64_t>(rows.size());
  at::Tensor t = at::zeros({n, n}, at::kDouble);
  auto acc = t.accessor<double, 2>();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) acc[i][j] = rows[i][j];
  }
  return t.to(at::kFloat);
}

Rows UniformCausal(int n) {
  Rows a(n, std::vector<double>(n, 0.0));
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j <= i; ++j) a[i][j] = 1.0 / (i + 1);
  }
  return a;
}

Rows SinkCausal(int n, double s) {
  Rows a = UniformCausal(n);
  for (auto& row : a) {
    for (double& x : row) x *= 1 - s;
  }
  for (int i = 0; i < n; ++i) a[i][0] += s;
  a[0][0] = 1.0;
  return a;
}

Rows UniformBidir(int n) {
  return Rows(n, std::vector<double>(n, 1.0 / n));
}

Rows SinkBidir(int n, double s) {
  Rows a(n, std::vector<double>(n, (1 - s) / n));
  for (int i = 0; i < n; ++i) a[i][0] += s;
  return a;
}

Rows LocalBidir(int n, double s, double beta) {
  Rows a(n, std::vector<double>(n, 0.0));
  for (int i = 0; i < n; ++i) {
    double sum = 0;
    for (int j = 0; j < n; ++j) sum += std::exp(-beta * std::abs(i - j));
    for (int j = 0; j < n; ++j) a[i][j] = (1 - s) * (std::exp(-beta * std::abs(i - j)) / sum);
    a[i][0] += s;
  }
  return a;
}

Rows RingBidir(int n, double self, double nb) {
  Rows a(n, std::vector<double>(n, (1 - self - 2 * nb) / (n - 3)));
  for (int i = 0; i < n; ++i) {
    a[i][i] = self;
    a[i][(i + 1) % n] = nb;
    a[i][(i + n - 1) % n] = nb;
  }
  return a;
}

void ExpectClose(double actual, double expected, const std::string& what) {
  if (expected == 0) {
    EXPECT_NEAR(actual, 0.0, 1e-9) << what;
  } else {
    EXPECT_NEAR(actual, expected, 1e-6 * std::abs(expected)) << what;
  }
}

void ExpectOptional(const std::optional<double>& actual, const nlohmann::json& golden,
                    const char* key, const std::string& name) {
  if (golden.contains(key)) {
    ASSERT_TRUE(actual.has_value()) << name << " " << key;
    ExpectClose(*actual, golden[key].get<double>(), name + " " + key);
  } else {
    EXPECT_FALSE(actual.has_value()) << name << " " << key << " should be absent";
  }
}

TEST(PaperTopologyMetricsTest, MatchesGoldenVectors) {
  std::ifstream in(sinkscope::testing::FixturesDir() / "analyzers" /
                   "golden_topology_spectral.json");
  ASSERT_TRUE(in) << "missing golden_topology_spectral.json";
  // Python's json writes Infinity/NaN (rmt entries); make them JSON before parsing.
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"-Infinity", "\"-inf\""},
                                 {"Infinity", "\"inf\""},
                                 {"NaN", "null"}}) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
      text.replace(at, from.size(), to);
      at += to.size();
    }
  }
  const nlohmann::json golden = nlohmann::json::parse(text);
  const std::vector<std::pair<std::string, Rows>> cases = {
      {"uniform_causal_n10", UniformCausal(10)},
      {"uniform_causal_n40", UniformCausal(40)},
      {"sink_causal_n12_s0.6", SinkCausal(12, 0.6)},
      {"sink_causal_n40_s0.9", SinkCausal(40, 0.9)},
      {"uniform_bidir_n8", UniformBidir(8)},
      {"sink_bidir_n8_s0.5", SinkBidir(8, 0.5)},
      {"local_bidir_n12_s0.3", LocalBidir(12, 0.3, 1.0)},
      {"local_bidir_n40_s0.0_beta0.5", LocalBidir(40, 0.0, 0.5)},
      {"ring_bidir_n8_self0.1_nb0.35", RingBidir(8, 0.1, 0.35)},
      {"ring_bidir_n12_self0.3_nb0.3", RingBidir(12, 0.3, 0.3)},
  };
  ASSERT_EQ(golden.size(), cases.size());
  for (const auto& [name, rows] : cases) {
    ASSERT_TRUE(golden.contains(name)) << name;
    const nlohmann::json& g = golden[name]["topology"];
    auto r = ComputePaperTopologyMetrics(ToFloat32(rows), PaperTopologyOptions{});
    ASSERT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    ASSERT_EQ(r->matrices.size(), 1u);
    const PaperTopologyMatrixResult& m = r->matrices[0];
    EXPECT_EQ(m.head, kHeadMean);
    EXPECT_FALSE(m.paper_dense_path) << name;
    EXPECT_EQ(m.paper_betti0, g["betti0"].get<int64_t>()) << name;
    EXPECT_EQ(m.paper_betti1, g["betti1"].get<int64_t>()) << name;
    ExpectOptional(m.dim0_avg_persistence, g, "dim0_avg_persistence", name);
    ExpectOptional(m.dim0_max_persistence, g, "dim0_max_persistence", name);
    ExpectOptional(m.dim1_avg_persistence, g, "dim1_avg_persistence", name);
    ExpectOptional(m.dim1_max_persistence, g, "dim1_max_persistence", name);
    ExpectClose(m.attention_mean, g["attention_mean"], name + " attention_mean");
    ExpectClose(m.attention_max, g["attention_max"], name + " attention_max");
    ExpectClose(m.attention_min, g["attention_min"], name + " attention_min");
    ExpectClose(m.attention_std, g["attention_std"], name + " attention_std");
    ASSERT_EQ(m.density.size(), 2u);
    ExpectClose(m.density[0], g["density@0.2"], name + " density@0.2");
    ExpectClose(m.density[1], g["density@0.4"], name + " density@0.4");
  }
}

std::vector<PersistenceInterval> GoldenBars(const nlohmann::json& bars) {
  std::vector<PersistenceInterval> out;
  for (const auto& b : bars) {
    out.push_back({static_cast<float>(b[0].get<double>()),
                   b[1].is_null() ? kInf : static_cast<float>(b[1].get<double>())});
  }
  return out;
}

TEST(PaperTopologyMetricsTest, MatchesReferenceDiagramsOnRandomMatrices) {
  // paper_topology_random.json: the reference implementation's diagrams (exact float32 values)
  // on seeded bidirectional, causal and mostly-absent-edge matrices (gen_paper_topology_random.py).
  std::ifstream in(sinkscope::testing::FixturesDir() / "analyzers" / "paper_topology_random.json");
  ASSERT_TRUE(in) << "missing paper_topology_random.json";
  const nlohmann::json fixture = nlohmann::json::parse(in);
  int essential = 0, cases = 0;
  for (const auto& c : fixture["cases"]) {
    const std::string name = c["name"];
    const int64_t n = c["n"];
    std::vector<float> values;
    for (const auto& v : c["matrix"])
      values.push_back(std::strtof(v.get<std::string>().c_str(), nullptr));
    ASSERT_EQ(static_cast<int64_t>(values.size()), n * n) << name;
    at::Tensor a = at::from_blob(values.data(), {n, n}, at::kFloat).clone();
    auto r = ComputePaperTopologyMetrics(a, PaperTopologyOptions{});
    ASSERT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    const PaperTopologyMatrixResult& m = r->matrices[0];
    EXPECT_EQ(m.paper_dgm0, GoldenBars(c["dgm0"])) << name;
    EXPECT_EQ(m.paper_dgm1, GoldenBars(c["dgm1"])) << name;
    const nlohmann::json& g = c["topology"];
    EXPECT_EQ(m.paper_betti0, g["betti0"].get<int64_t>()) << name;
    EXPECT_EQ(m.paper_betti1, g["betti1"].get<int64_t>()) << name;
    ExpectOptional(m.dim0_avg_persistence, g, "dim0_avg_persistence", name);
    ExpectOptional(m.dim0_max_persistence, g, "dim0_max_persistence", name);
    ExpectOptional(m.dim1_avg_persistence, g, "dim1_avg_persistence", name);
    ExpectOptional(m.dim1_max_persistence, g, "dim1_max_persistence", name);
    ExpectClose(m.attention_std, g["attention_std"], name + " attention_std");
    ExpectClose(m.density[0], g["density@0.2"], name + " density@0.2");
    for (const auto& bar : m.paper_dgm1) essential += std::isinf(bar.death) ? 1 : 0;
    ++cases;
  }
  EXPECT_EQ(cases, 16);
  EXPECT_GE(essential, 30);  // the sparse cases' unfilled cycles
}

TEST(PaperTopologyMetricsTest, CausalClosedFormsHoldOnRandomMatrices) {
  // §3.3.1: betti0 = min(n, 30), betti1 = 0, dim0 avg/max = mean/max over k ≥ 1 of the kept
  // tokens' self-attention a_k (here a_k ≥ 0.01, far above float32's 3e-8).
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0.01, 1.0);
  for (int n : {2, 5, 17, 30, 31, 48, 64}) {
    Rows a(n, std::vector<double>(n, 0.0));
    for (int i = 0; i < n; ++i) {
      double sum = 0;
      for (int j = 0; j <= i; ++j) sum += a[i][j] = u(rng);
      for (int j = 0; j <= i; ++j) a[i][j] /= sum;
    }
    at::Tensor t = ToFloat32(a);
    auto r = ComputePaperTopologyMetrics(t, PaperTopologyOptions{});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const PaperTopologyMatrixResult& m = r->matrices[0];
    EXPECT_EQ(m.paper_betti0, std::min(n, 30)) << n;
    EXPECT_EQ(m.paper_betti1, 0) << n;
    EXPECT_NEAR(m.attention_mean, 1.0 / n, 1e-7);
    EXPECT_EQ(m.attention_max, 1.0);
    double sum = 0, best = 0;
    const auto& kept = m.paper_kept_tokens;
    for (size_t k = 1; k < kept.size(); ++k) {
      const double ak = t[kept[k]][kept[k]].item<float>();
      sum += ak;
      best = std::max(best, ak);
    }
    ASSERT_TRUE(m.dim0_avg_persistence.has_value());
    EXPECT_NEAR(*m.dim0_avg_persistence, sum / static_cast<double>(kept.size() - 1),
                1e-6 * sum / static_cast<double>(kept.size() - 1));
    EXPECT_NEAR(*m.dim0_max_persistence, best, 1e-6 * best);
    EXPECT_FALSE(m.dim1_avg_persistence.has_value());
  }
}

TEST(PaperTopologyMetricsTest, DownsamplingFollowsNumpyLinspace) {
  // np.linspace(0, n − 1, 30, dtype=int), printed by numpy for these n.
  EXPECT_EQ(PaperDownsampleIndices(48, 30),
            (std::vector<int64_t>{0,  1,  3,  4,  6,  8,  9,  11, 12, 14, 16, 17, 19, 21, 22,
                                  24, 25, 27, 29, 30, 32, 34, 35, 37, 38, 40, 42, 43, 45, 47}));
  EXPECT_EQ(PaperDownsampleIndices(31, 30).back(), 30);
  EXPECT_EQ(PaperDownsampleIndices(31, 30)[28], 28);
  EXPECT_EQ(PaperDownsampleIndices(1000, 30),
            (std::vector<int64_t>{0,   34,  68,  103, 137, 172, 206, 241, 275, 310,
                                  344, 378, 413, 447, 482, 516, 551, 585, 620, 654,
                                  688, 723, 757, 792, 826, 861, 895, 930, 964, 999}));
  EXPECT_EQ(PaperDownsampleIndices(7, 30), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
}

TEST(PaperTopologyMetricsTest, EssentialH1ClassIsAnInfiniteBar) {
  // Upper triangle of D = 1 − A: the 4-cycle 0-1-2-3-0 at 0.5, 0.5, 0.5, 0.6; the diagonals
  // {0, 2}, {1, 3} have D = 0, so ripser.py drops them: the loop never fills. Births 0.5.
  Rows a = {{0.5, 0.5, 1.0, 0.4}, {0.0, 0.5, 0.5, 1.0}, {0.0, 0.0, 0.5, 0.5}, {0, 0, 0, 0.5}};
  auto r = ComputePaperTopologyMetrics(ToFloat32(a), PaperTopologyOptions{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const PaperTopologyMatrixResult& m = r->matrices[0];
  EXPECT_FALSE(m.paper_dense_path);
  EXPECT_EQ(m.paper_dgm1, (std::vector<PersistenceInterval>{{1.0f - 0.4f, kInf}}));
  // Merges at 0.5 = the births: not recorded (death > birth fails); one component remains.
  EXPECT_EQ(m.paper_dgm0, (std::vector<PersistenceInterval>{{0.5f, kInf}}));
  EXPECT_EQ(m.paper_betti0, 1);
  EXPECT_EQ(m.paper_betti1, 1);
  EXPECT_FALSE(m.dim0_avg_persistence.has_value());
  EXPECT_FALSE(m.dim1_avg_persistence.has_value());
}

TEST(PaperTopologyMetricsTest, SparsePathIgnoresTheLowerTriangle) {
  // Same upper triangle, different lower triangles: identical diagrams.
  Rows a = {{0.2, 0.7, 0.1}, {0.0, 0.3, 0.6}, {0.0, 0.0, 0.4}};
  Rows b = a;
  b[1][0] = 0.9;
  b[2][0] = 0.8;
  b[2][1] = 0.05;
  auto ra = ComputePaperTopologyMetrics(ToFloat32(a), PaperTopologyOptions{});
  auto rb = ComputePaperTopologyMetrics(ToFloat32(b), PaperTopologyOptions{});
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_EQ(ra->matrices[0].paper_dgm0, rb->matrices[0].paper_dgm0);
  EXPECT_EQ(ra->matrices[0].paper_dgm1, rb->matrices[0].paper_dgm1);
  // Births 0.8, 0.7, 0.6; edges {0,1} 0.3, {1,2} 0.4, {0,2} 0.9. {0,1} at 0.3 < births: not
  // recorded, root birth 0.7; {1,2} at 0.4 < 0.6: not recorded; one (0.6, ∞) remains.
  EXPECT_EQ(ra->matrices[0].paper_dgm0, (std::vector<PersistenceInterval>{{1.0f - 0.4f, kInf}}));
}

TEST(PaperTopologyMetricsTest, DensePathKeepsZeroDistancesAsEdges) {
  // Every kept D_ii = 0 → ripser.py's dense path: D_ij = 0 entries are edges at 0 there, so the
  // all-ones matrix is one point-like component (the sparse path would give 3 infinite bars).
  auto ones = ComputePaperTopologyMetrics(at::ones({3, 3}), PaperTopologyOptions{});
  ASSERT_TRUE(ones.ok()) << ones.status().ToString();
  EXPECT_TRUE(ones->matrices[0].paper_dense_path);
  EXPECT_EQ(ones->matrices[0].paper_dgm0, (std::vector<PersistenceInterval>{{0, kInf}}));
  EXPECT_EQ(ones->matrices[0].paper_betti1, 0);
  // The identity: all distances 1, births 0 → 3 bars (0, 1) and (0, ∞), dim0 avg = 1.
  auto eye = ComputePaperTopologyMetrics(at::eye(4), PaperTopologyOptions{});
  ASSERT_TRUE(eye.ok());
  EXPECT_TRUE(eye->matrices[0].paper_dense_path);
  EXPECT_EQ(eye->matrices[0].paper_betti0, 4);
  EXPECT_EQ(*eye->matrices[0].dim0_avg_persistence, 1.0);
  // Dense path, upper triangle only: {0,1} at 0, {1,2} at 0, {0,2} at 0.5: one component, and
  // the loop is born and filled at 0.5 (dropped).
  Rows c = {{1.0, 1.0, 0.5}, {0.0, 1.0, 1.0}, {0.7, 0.0, 1.0}};
  auto rc = ComputePaperTopologyMetrics(ToFloat32(c), PaperTopologyOptions{});
  ASSERT_TRUE(rc.ok());
  EXPECT_TRUE(rc->matrices[0].paper_dense_path);
  EXPECT_EQ(rc->matrices[0].paper_dgm0, (std::vector<PersistenceInterval>{{0, kInf}}));
  EXPECT_EQ(rc->matrices[0].paper_betti1, 0);
}

TEST(PaperTopologyMetricsTest, DensityComparesInFloat32) {
  // 0.2 as float32 is not > 0.2 in float32 (it is above the double 0.2).
  Rows a = {{0.2, 0.8}, {0.5, 0.5}};
  PaperTopologyOptions o;
  o.density_thresholds = {0.2, 0.5, 0.0};
  auto r = ComputePaperTopologyMetrics(ToFloat32(a), o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->matrices[0].density, (std::vector<double>{0.75, 0.25, 1.0}));
}

TEST(PaperTopologyMetricsTest, HeadMetricsFollowTheNotebook) {
  // Head 0: column means (0.5, 0.25, 0.25); ties in the strongest entry (0.5 at (0,0) and
  // (1,0)) go to the first in row-major order. Head 1: columns tie → first index.
  at::Tensor a = at::tensor({0.5, 0.25, 0.25, 0.5, 0.5, 0.0, 0.5, 0.0, 0.5,  //
                             0.5, 0.5, 0.0, 0.0, 0.5, 0.5, 0.5, 0.0, 0.5},
                            at::kFloat)
                     .reshape({2, 3, 3});
  auto r = ComputePaperHeadMetrics(a);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  const PaperHeadMetrics& h0 = (*r)[0];
  EXPECT_EQ(h0.head, 0);
  EXPECT_NEAR(h0.avg_attention, 1.0 / 3, 1e-12);
  EXPECT_EQ(h0.max_attention, 0.5);
  EXPECT_EQ(h0.top_idx, 0);
  EXPECT_NEAR(h0.top_strength, 0.5, 1e-12);
  EXPECT_EQ(h0.strongest_source, 0);
  EXPECT_EQ(h0.strongest_target, 0);
  EXPECT_EQ(h0.strongest_value, 0.5);
  // −Σ A log2(A + 1e-10): five 0.5 entries (1 bit · 0.5 each), two 0.25 (2 bits · 0.25), two 0.
  EXPECT_NEAR(h0.entropy, 5 * 0.5 + 2 * 0.5, 1e-8);
  double mean = 1.0 / 3, var = 0;
  for (double x : {0.5, 0.25, 0.25, 0.5, 0.5, 0.0, 0.5, 0.0, 0.5}) var += (x - mean) * (x - mean);
  EXPECT_NEAR(h0.std_attention, std::sqrt(var / 9), 1e-12);
  EXPECT_EQ((*r)[1].top_idx, 0);  // all column means 1/3
  EXPECT_EQ((*r)[1].strongest_target, 0);

  at::Tensor bad = a.clone();
  bad[1][1][1] = std::numeric_limits<float>::quiet_NaN();
  auto rb = ComputePaperHeadMetrics(bad);
  ASSERT_TRUE(rb.ok());
  EXPECT_TRUE((*rb)[0].valid);
  EXPECT_FALSE((*rb)[1].valid);
  EXPECT_EQ((*rb)[1].health.num_nan, 1);
  EXPECT_TRUE(std::isnan((*rb)[1].entropy));
}

TEST(PaperTopologyMetricsTest, HeadSpecializationCountsConsistency) {
  const std::vector<HeadTopTokens> heads = {
      {0, 0, {"a", "b", "a", "c", "b", "a"}},       // a 3/6 = 0.5
      {0, 1, {"x", "y", "z", "w", "v", "u"}},       // 1/6: not specialized
      {1, 0, {"<s>", "<s>", "<s>", "<s>"}},         // 1.0 but total 4 < 5
      {1, 1, {"q", "r", "r", "q", "s", "t"}},       // tie q/r at 2/6: first seen (q) wins
      {2, 0, {"b", "b", "a", "a", "a", "b", "b"}},  // b 4/7
      {2, 1, {"k", "k", "k", "l", "l", "l"}},       // 0.5, ties with (0, 0): input order
  };
  HeadSpecializationResult r = PaperHeadSpecialization(heads);
  ASSERT_EQ(r.heads.size(), 6u);
  EXPECT_EQ(r.heads[0].token, "a");
  EXPECT_EQ(r.heads[0].count, 3);
  EXPECT_EQ(r.heads[0].total, 6);
  EXPECT_DOUBLE_EQ(r.heads[0].consistency, 0.5);
  EXPECT_FALSE(r.heads[1].specialized);
  EXPECT_FALSE(r.heads[2].specialized);
  EXPECT_DOUBLE_EQ(r.heads[2].consistency, 1.0);
  EXPECT_EQ(r.heads[3].token, "q");
  EXPECT_TRUE(r.heads[3].specialized);  // 1/3 ≥ 0.3
  ASSERT_EQ(r.specialized.size(), 4u);
  EXPECT_EQ(r.specialized[0].layer, 2);  // 4/7
  EXPECT_EQ(r.specialized[0].head, 0);
  EXPECT_EQ(r.specialized[1].layer, 0);  // 0.5, first in input order
  EXPECT_EQ(r.specialized[2].layer, 2);  // 0.5
  EXPECT_EQ(r.specialized[2].head, 1);
  EXPECT_EQ(r.specialized[3].layer, 1);  // 1/3
  EXPECT_EQ(PaperHeadSpecialization({{0, 0, {}}}).heads[0].consistency, 0.0);
}

TEST(PaperTopologyMetricsTest, PositionClassesUnifyAVaryingFirstWord) {
  // A position-0 sink whose string changes with the sentence (Qwen, §3.4 [DEGENERATE]).
  HeadTopTokens by_string{7, 3, {"In", "The", "A", "Paris", "Water", "Light"}};
  EXPECT_FALSE(PaperHeadSpecialization({by_string}).heads[0].specialized);
  HeadTopPositions by_class{7, 3, {}};
  for (int s = 0; s < 6; ++s) by_class.top_classes.push_back(PositionClass::kFirst);
  HeadSpecializationResult r = PositionClassSpecialization({by_class});
  EXPECT_TRUE(r.heads[0].specialized);
  EXPECT_EQ(r.heads[0].token, "first");
  HeadTopPositions mixed{
      7,
      4,
      {PositionClass::kLast, PositionClass::kPunctuation, PositionClass::kPunctuation,
       PositionClass::kOther, PositionClass::kPunctuation}};
  HeadSpecializationResult m = PositionClassSpecialization({mixed});
  EXPECT_EQ(m.heads[0].token, "punctuation");
  EXPECT_DOUBLE_EQ(m.heads[0].consistency, 0.6);
}

TEST(PaperTopologyMetricsTest, NonFiniteHeadIsInvalidAndTheRestIsComputed) {
  at::Tensor a = at::stack({ToFloat32(UniformCausal(6)), ToFloat32(SinkCausal(6, 0.5))});
  a[0][3][1] = -std::numeric_limits<float>::infinity();
  PaperTopologyOptions o;
  o.heads = HeadSelection::kPerHeadAndMean;
  auto r = ComputePaperTopologyMetrics(a, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->matrices.size(), 3u);
  EXPECT_FALSE(r->matrices[0].valid);
  EXPECT_EQ(r->matrices[0].health.num_neginf, 1);
  EXPECT_TRUE(std::isnan(r->matrices[0].attention_mean));
  EXPECT_EQ(r->matrices[0].paper_betti0, 0);
  EXPECT_FALSE(r->matrices[0].dim0_avg_persistence.has_value());
  EXPECT_TRUE(r->matrices[1].valid);
  EXPECT_EQ(r->matrices[1].head, 1);
  EXPECT_EQ(r->matrices[1].paper_betti0, 6);
  EXPECT_FALSE(r->matrices[2].valid);  // the head mean
}

TEST(PaperTopologyMetricsTest, OneAndTwoTokensAreDefined) {
  auto one = ComputePaperTopologyMetrics(at::ones({1, 1}), PaperTopologyOptions{});
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_TRUE(one->matrices[0].paper_dense_path);
  EXPECT_EQ(one->matrices[0].paper_dgm0, (std::vector<PersistenceInterval>{{0, kInf}}));
  auto half = ComputePaperTopologyMetrics(at::full({1, 1}, 0.5), PaperTopologyOptions{});
  ASSERT_TRUE(half.ok());
  EXPECT_EQ(half->matrices[0].paper_dgm0, (std::vector<PersistenceInterval>{{0.5f, kInf}}));
  EXPECT_EQ(half->matrices[0].paper_betti1, 0);
  // Causal n = 2, a_1 = 0.25: dgm0 = {(0.75, 1), (0, ∞)}.
  auto two = ComputePaperTopologyMetrics(ToFloat32({{1, 0}, {0.75, 0.25}}), PaperTopologyOptions{});
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->matrices[0].paper_dgm0,
            (std::vector<PersistenceInterval>{{0, kInf}, {0.75f, 1.0f}}));
  EXPECT_DOUBLE_EQ(*two->matrices[0].dim0_avg_persistence, 0.25);
}

TEST(PaperTopologyMetricsTest, RejectsBadShapesOptionsAndSizes) {
  PaperTopologyOptions small;
  small.max_tokens = 4;
  PaperTopologyOptions cap;
  cap.paper_max_points = 0;
  struct Case {
    at::Tensor input;
    PaperTopologyOptions options;
    StatusCode code;
    const char* fragment;
  };
  const Case cases[] = {
      {at::zeros({2, 3}), {}, StatusCode::kInvalidArgument, "must be square, got shape [2, 3]"},
      {at::zeros({4}), {}, StatusCode::kInvalidArgument, "[n, n] or [heads, n, n]"},
      {at::zeros({3, 0, 0}), {}, StatusCode::kInvalidArgument, "is empty"},
      {at::eye(3), cap, StatusCode::kInvalidArgument, "paper_max_points"},
      {at::full({3, 3}, 1.5), {}, StatusCode::kInvalidArgument, "is negative"},
      {at::eye(5), small, StatusCode::kResourceExhausted, "more than max_tokens = 4"},
  };
  for (const auto& c : cases) {
    auto r = ComputePaperTopologyMetrics(c.input, c.options);
    ASSERT_FALSE(r.ok()) << c.fragment;
    EXPECT_EQ(r.status().code(), c.code) << r.status().ToString();
    EXPECT_NE(r.status().message().find(c.fragment), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(ComputePaperHeadMetrics(at::zeros({2, 3})).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sinkscope::analyzers::topology
