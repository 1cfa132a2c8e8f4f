// Helpers for model tests: reference tensors and tolerance checks.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "models/formats/checkpoint.h"

namespace sinkscope::testing {

/// Attention probabilities: max abs error (issue #2).
inline constexpr double kAttentionTol = 1e-5;
/// Hidden states and other activations: max abs error relative to the reference's magnitude.
inline constexpr double kHiddenRelTol = 1e-4;

/// kHiddenRelTol × max(1, max |ref|).
inline double HiddenTol(const at::Tensor& ref) {
  return kHiddenRelTol * std::max(1.0, ref.abs().max().item<double>());
}

/// Reference tensors by name; a missing name fails the test (and returns an empty tensor).
struct Reference {
  formats::TensorMap tensors;
  at::Tensor Get(const std::string& name) const {
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      ADD_FAILURE() << "reference tensor '" << name << "' missing";
      return at::zeros({0});
    }
    return it->second.to(at::kFloat);
  }
};

inline std::vector<int64_t> ToIds(const at::Tensor& t) {
  at::Tensor c = t.to(at::kLong).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

/// Shapes equal and max |ours − ref| ≤ tol.
inline void ExpectClose(const at::Tensor& ours, const at::Tensor& ref, double tol,
                        const std::string& what) {
  ASSERT_EQ(ours.sizes(), ref.sizes()) << what;
  at::Tensor a = ours.to(at::kDouble), b = ref.to(at::kDouble);
  ASSERT_TRUE(at::isfinite(a).all().item<bool>()) << what << ": non-finite values";
  const double err = (a - b).abs().max().item<double>();
  EXPECT_LE(err, tol) << what << ": max abs error " << err;
}

}  // namespace sinkscope::testing
