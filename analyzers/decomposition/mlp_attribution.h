// MLP input attribution (spec sinks-frames-decomposition §3, "--decompose-mlp-in"): which input
// dimensions drive the MLP's output for a token. Gradient × input: a_{t,d} = x_{t,d} · g_{t,d} with
// x_t the MLP input (capture mlp_in) and g_t = ∂‖mlp(x_t)‖₂/∂x_t (capture mlp_in_grad, computed
// by the runtime with autograd). |a_{t,d}| ranks the dimensions; Σ_d a_{t,d} is the first-order
// (Taylor) estimate of ‖mlp(x_t)‖ − ‖mlp(0)‖ that the ranking splits up.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

#include "analyzers/common/attention_matrices.h"
#include "core/status.h"

namespace sinkscope::analyzers::decomposition {

struct MlpAttributionOptions {
  int64_t top_k = 5;                 ///< dimensions reported per token (fewer when D is smaller)
  std::vector<int64_t> tokens = {};  ///< token positions to report; empty: every token
};

struct TokenMlpAttribution {
  int64_t token = 0;
  std::vector<int64_t> top_dims;   ///< by |x_d g_d| descending (lower index first on ties)
  std::vector<double> top_values;  ///< x_d g_d at those dimensions (signed)
  double total_abs = 0;            ///< Σ_d |x_d g_d|
  double total = 0;                ///< Σ_d x_d g_d
  double top_share = 0;            ///< Σ_top |x_d g_d| / total_abs (NaN when total_abs = 0)
};

struct MlpAttributionResult {
  int64_t num_tokens = 0;  ///< T of the inputs
  int64_t dim = 0;         ///< D
  int64_t top_k = 0;       ///< used
  InputHealth health;      ///< non-finite values in x and g together
  bool valid = true;       ///< false when any value is non-finite (then tokens is empty)
  std::vector<TokenMlpAttribution> tokens;
};

/// `mlp_in` and `mlp_in_grad`: [T, D] (one sentence), floating, same shape. InvalidArgument for
/// other shapes, top_k < 1, or a token outside [0, T).
StatusOr<MlpAttributionResult> ComputeMlpInputAttribution(const at::Tensor& mlp_in,
                                                          const at::Tensor& mlp_in_grad,
                                                          const MlpAttributionOptions& options);

}  // namespace sinkscope::analyzers::decomposition
