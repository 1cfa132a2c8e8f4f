// The closed-form attention matrices of spec topology-spectral Appendix B (the cases of
// golden_topology_spectral.json), built in float64 as ref_impl_topology_spectral.py does and cast
// to float32 like its `A.astype(np.float32)`.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <ATen/ATen.h>

namespace sinkscope::analyzers::spectral::testing {

inline at::Tensor UniformCausal(int64_t n) {
  at::Tensor a = at::zeros({n, n}, at::kDouble);
  auto acc = a.accessor<double, 2>();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j <= i; ++j) acc[i][j] = 1.0 / static_cast<double>(i + 1);
  }
  return a;
}

inline at::Tensor SinkCausal(int64_t n, double s) {
  at::Tensor a = UniformCausal(n) * (1 - s);
  a.select(1, 0).add_(s);
  a[0][0] = 1.0;
  return a;
}

inline at::Tensor UniformBidir(int64_t n) {
  return at::full({n, n}, 1.0 / static_cast<double>(n), at::kDouble);
}

inline at::Tensor SinkBidir(int64_t n, double s) {
  at::Tensor a = at::full({n, n}, (1 - s) / static_cast<double>(n), at::kDouble);
  a.select(1, 0).add_(s);
  return a;
}

inline at::Tensor LocalBidir(int64_t n, double s, double beta) {
  at::Tensor a = at::zeros({n, n}, at::kDouble);
  auto acc = a.accessor<double, 2>();
  for (int64_t i = 0; i < n; ++i) {
    double sum = 0;
    for (int64_t j = 0; j < n; ++j) sum += std::exp(-beta * std::abs(static_cast<double>(i - j)));
    for (int64_t j = 0; j < n; ++j) {
      acc[i][j] = (1 - s) * (std::exp(-beta * std::abs(static_cast<double>(i - j))) / sum);
    }
    acc[i][0] += s;
  }
  return a;
}

inline at::Tensor RingBidir(int64_t n, double self_w, double nb_w) {
  at::Tensor a =
      at::full({n, n}, (1 - self_w - 2 * nb_w) / static_cast<double>(n - 3), at::kDouble);
  auto acc = a.accessor<double, 2>();
  for (int64_t i = 0; i < n; ++i) {
    acc[i][i] = self_w;
    acc[i][(i + 1) % n] = nb_w;
    acc[i][(i + n - 1) % n] = nb_w;
  }
  return a;
}

/// The float32 matrix of a golden case name; an undefined tensor for an unknown name.
inline at::Tensor GoldenCase(const std::string& name) {
  at::Tensor a;
  if (name == "uniform_causal_n10") a = UniformCausal(10);
  if (name == "uniform_causal_n40") a = UniformCausal(40);
  if (name == "sink_causal_n12_s0.6") a = SinkCausal(12, 0.6);
  if (name == "sink_causal_n40_s0.9") a = SinkCausal(40, 0.9);
  if (name == "uniform_bidir_n8") a = UniformBidir(8);
  if (name == "sink_bidir_n8_s0.5") a = SinkBidir(8, 0.5);
  if (name == "local_bidir_n12_s0.3") a = LocalBidir(12, 0.3, 1.0);
  if (name == "local_bidir_n40_s0.0_beta0.5") a = LocalBidir(40, 0.0, 0.5);
  if (name == "ring_bidir_n8_self0.1_nb0.35") a = RingBidir(8, 0.1, 0.35);
  if (name == "ring_bidir_n12_self0.3_nb0.3") a = RingBidir(12, 0.3, 0.3);
  return a.defined() ? a.to(at::kFloat) : a;
}

/// The spec's tolerance: 1e-6 relative, or 1e-9 absolute for values that are exactly 0 (golden
/// |value| ≤ 1e-9, e.g. λ1 printed as 3e-15).
inline bool NearGolden(double got, double want) {
  if (std::abs(want) <= 1e-9) return std::abs(got) <= 1e-9;
  return std::abs(got - want) <= 1e-6 * std::abs(want);
}

}  // namespace sinkscope::analyzers::spectral::testing
