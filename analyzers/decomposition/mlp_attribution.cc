#include "analyzers/decomposition/mlp_attribution.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace sinkscope::analyzers::decomposition {

StatusOr<MlpAttributionResult> ComputeMlpInputAttribution(const at::Tensor& mlp_in,
                                                          const at::Tensor& mlp_in_grad,
                                                          const MlpAttributionOptions& options) {
  if (!mlp_in.defined() || !mlp_in_grad.defined() || mlp_in.dim() != 2 ||
      mlp_in.sizes() != mlp_in_grad.sizes() || mlp_in.size(0) < 1 || mlp_in.size(1) < 1) {
    return InvalidArgumentError(
        "MLP attribution needs mlp_in and mlp_in_grad of one sentence, both [T, D] with T, D ≥ 1");
  }
  if (!at::isFloatingType(mlp_in.scalar_type()) || !at::isFloatingType(mlp_in_grad.scalar_type())) {
    return InvalidArgumentError("MLP attribution needs floating-point tensors");
  }
  if (options.top_k < 1) return InvalidArgumentError("top_k must be ≥ 1, got {}", options.top_k);
  MlpAttributionResult r;
  r.num_tokens = mlp_in.size(0);
  r.dim = mlp_in.size(1);
  r.top_k = std::min(options.top_k, r.dim);
  std::vector<int64_t> tokens = options.tokens;
  if (tokens.empty()) {
    tokens.resize(static_cast<size_t>(r.num_tokens));
    std::iota(tokens.begin(), tokens.end(), 0);
  }
  for (int64_t t : tokens) {
    if (t < 0 || t >= r.num_tokens) {
      return InvalidArgumentError("token {} is outside the sentence (T = {})", t, r.num_tokens);
    }
  }
  at::Tensor x = mlp_in.to(at::kCPU, at::kDouble).contiguous();
  at::Tensor g = mlp_in_grad.to(at::kCPU, at::kDouble).contiguous();
  for (const at::Tensor& t : {x, g}) {
    r.health.num_nan += at::isnan(t).sum().item<int64_t>();
    r.health.num_posinf += at::isposinf(t).sum().item<int64_t>();
    r.health.num_neginf += at::isneginf(t).sum().item<int64_t>();
  }
  if (!r.health.valid()) {
    r.valid = false;
    return r;
  }
  at::Tensor a = x * g;  // [T, D] gradient × input
  const double* data = a.data_ptr<double>();
  const auto d = static_cast<size_t>(r.dim);
  std::vector<int64_t> order(d);
  for (int64_t t : tokens) {
    const double* row = data + static_cast<size_t>(t) * d;
    TokenMlpAttribution out;
    out.token = t;
    for (size_t i = 0; i < d; ++i) {
      out.total += row[i];
      out.total_abs += std::abs(row[i]);
    }
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t lhs, int64_t rhs) {
      return std::abs(row[lhs]) > std::abs(row[rhs]);
    });
    double top = 0;
    for (int64_t k = 0; k < r.top_k; ++k) {
      out.top_dims.push_back(order[static_cast<size_t>(k)]);
      out.top_values.push_back(row[order[static_cast<size_t>(k)]]);
      top += std::abs(row[order[static_cast<size_t>(k)]]);
    }
    out.top_share =
        out.total_abs > 0 ? top / out.total_abs : std::numeric_limits<double>::quiet_NaN();
    r.tokens.push_back(std::move(out));
  }
  return r;
}

}  // namespace sinkscope::analyzers::decomposition
