// Massive activations (Sun, Chen, Kolter & Liu, "Massive Activations in Large Language Models",
// COLM 2024; spec sinks-frames-decomposition §1): an entry h_{i,d} of the residual stream is
// massive when |h_{i,d}| > 100 and |h_{i,d}| > 1000 × median_d' |h_{i,d'}| (the median magnitude
// of that token's hidden state). Both thresholds are options.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

#include "analyzers/common/attention_matrices.h"
#include "core/status.h"

namespace sinkscope::analyzers::sink {

struct MassiveActivationOptions {
  double absolute_threshold = 100.0;  ///< |h| must exceed this
  double median_ratio = 1000.0;       ///< … and this many times the token's median |h|
};

struct MassiveActivation {
  int64_t layer = 0;
  int64_t token = 0;
  int64_t dim = 0;
  double value = 0;
  double token_median_magnitude = 0;
};

struct MassiveActivationResult {
  int64_t num_layers = 0;
  int64_t num_tokens = 0;
  int64_t hidden_size = 0;
  MassiveActivationOptions options;
  /// Every massive entry, ordered by layer, token, dimension.
  std::vector<MassiveActivation> activations;
  /// Count per layer.
  std::vector<int64_t> count_per_layer;
  /// Largest |h| per layer and its (token, dim) — reported whether or not it is massive.
  std::vector<double> max_magnitude_per_layer;
  std::vector<int64_t> max_token_per_layer;
  std::vector<int64_t> max_dim_per_layer;
  /// NaN/±∞ entries per layer; a token with any is skipped (never reported as massive).
  std::vector<InputHealth> health_per_layer;
};

/// Massive activations of hidden states [n, d] (one layer) or [L, n, d] (layer index first).
/// InvalidArgument for another rank, an empty tensor, or thresholds that are not ≥ 0.
StatusOr<MassiveActivationResult> FindMassiveActivations(
    const at::Tensor& hidden, const MassiveActivationOptions& options = {});

}  // namespace sinkscope::analyzers::sink
