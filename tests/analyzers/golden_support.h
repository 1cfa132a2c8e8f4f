// Helpers of the analyzer tests that read the spec's golden JSON (tests/fixtures/analyzers/).
#pragma once

#include <cmath>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/test_support.h"

namespace sinkscope::testing {

/// tests/fixtures/analyzers/<name>, parsed.
inline nlohmann::json LoadAnalyzerFixture(const std::string& name) {
  std::ifstream in(FixturesDir() / "analyzers" / name);
  return nlohmann::json::parse(in);
}

/// spec/reference/golden_infogeo_value.json (copied to tests/fixtures/analyzers), parsed once.
inline const nlohmann::json& GoldenInfogeoValue() {
  static const nlohmann::json golden = LoadAnalyzerFixture("golden_infogeo_value.json");
  return golden;
}

/// A nested JSON array of numbers as a float64 tensor of the same shape.
inline at::Tensor TensorFromJson(const nlohmann::json& v) {
  std::vector<int64_t> shape;
  for (const nlohmann::json* level = &v; level->is_array(); level = &(*level)[0]) {
    shape.push_back(static_cast<int64_t>(level->size()));
  }
  std::vector<double> flat;
  auto walk = [&](auto&& self, const nlohmann::json& node) -> void {
    if (node.is_array()) {
      for (const auto& child : node) self(self, child);
    } else {
      flat.push_back(node.get<double>());
    }
  };
  walk(walk, v);
  return at::tensor(flat, at::kDouble).reshape(shape);
}

/// Softmax over j ≤ i of each row of logits [..., n, n], as the spec's reference code does.
inline at::Tensor CausalSoftmax(const at::Tensor& logits) {
  const int64_t n = logits.size(-1);
  return logits
      .masked_fill(at::ones({n, n}, at::kBool).triu(1), -std::numeric_limits<double>::infinity())
      .softmax(-1);
}

/// |got − want| ≤ rel·|want| + 1e-12.
inline void ExpectRel(double got, double want, const std::string& what, double rel = 1e-9) {
  EXPECT_NEAR(got, want, rel * std::fabs(want) + 1e-12) << what;
}

/// Element-wise ExpectRel against a JSON array.
inline void ExpectVector(const std::vector<double>& got, const nlohmann::json& want,
                         const std::string& what) {
  const auto w = want.get<std::vector<double>>();
  ASSERT_EQ(got.size(), w.size()) << what;
  for (size_t i = 0; i < w.size(); ++i) {
    ExpectRel(got[i], w[i], what + "[" + std::to_string(i) + "]");
  }
}

}  // namespace sinkscope::testing
