#include "analyzers/sink/massive_activations.h"

#include <algorithm>
#include <cmath>

#include "core/torch_call.h"

namespace sinkscope::analyzers::sink {

StatusOr<MassiveActivationResult> FindMassiveActivations(const at::Tensor& hidden,
                                                         const MassiveActivationOptions& options) {
  if (!hidden.defined() || (hidden.dim() != 2 && hidden.dim() != 3)) {
    return InvalidArgumentError(
        "hidden states must be [n, d] or [layers, n, d], got shape {}",
        hidden.defined() ? c10::str(hidden.sizes()) : std::string("(none)"));
  }
  if (hidden.numel() == 0) {
    return InvalidArgumentError("hidden states are empty (shape {})", c10::str(hidden.sizes()));
  }
  if (!at::isFloatingType(hidden.scalar_type())) {
    return InvalidArgumentError("hidden states must be floating point");
  }
  if (!(options.absolute_threshold >= 0) || !(options.median_ratio >= 0)) {
    return InvalidArgumentError("thresholds must be ≥ 0 (absolute {}, ratio {})",
                                options.absolute_threshold, options.median_ratio);
  }
  ASSIGN_OR_RETURN(at::Tensor h, TorchCall("massive activations: reading hidden states", [&] {
                     at::Tensor t = hidden.dim() == 2 ? hidden.unsqueeze(0) : hidden;
                     return t.to(at::kCPU, at::kDouble).contiguous();
                   }));
  MassiveActivationResult r;
  r.num_layers = h.size(0);
  r.num_tokens = h.size(1);
  r.hidden_size = h.size(2);
  r.options = options;
  const int64_t n = r.num_tokens, d = r.hidden_size;
  const double* data = h.data_ptr<double>();
  std::vector<double> magnitude(static_cast<size_t>(d)), sorted(static_cast<size_t>(d));
  for (int64_t l = 0; l < r.num_layers; ++l) {
    InputHealth health;
    int64_t count = 0;
    double max_mag = -1;
    int64_t max_token = -1, max_dim = -1;
    for (int64_t i = 0; i < n; ++i) {
      const double* x = data + (l * n + i) * d;
      bool finite = true;
      double row_max = 0;
      for (int64_t k = 0; k < d; ++k) {
        if (std::isnan(x[k])) ++health.num_nan, finite = false;
        if (std::isinf(x[k])) ++(x[k] > 0 ? health.num_posinf : health.num_neginf), finite = false;
        magnitude[k] = std::fabs(x[k]);
        row_max = std::max(row_max, magnitude[k]);
      }
      if (!finite) continue;
      // numpy's median: the mean of the two middle values for an even count. Only needed when
      // some |h| passes the absolute threshold (otherwise no entry of the token can qualify).
      double median = 0;
      if (row_max > options.absolute_threshold) {
        std::copy(magnitude.begin(), magnitude.end(), sorted.begin());
        const size_t mid = sorted.size() / 2;
        std::nth_element(sorted.begin(), sorted.begin() + mid, sorted.end());
        median = sorted[mid];
        if (sorted.size() % 2 == 0) {
          median = 0.5 * (median + *std::max_element(sorted.begin(), sorted.begin() + mid));
        }
      }
      for (int64_t k = 0; k < d; ++k) {
        if (magnitude[k] > max_mag) {
          max_mag = magnitude[k];
          max_token = i;
          max_dim = k;
        }
        if (magnitude[k] > options.absolute_threshold &&
            magnitude[k] > options.median_ratio * median) {
          r.activations.push_back({l, i, k, x[k], median});
          ++count;
        }
      }
    }
    r.count_per_layer.push_back(count);
    r.max_magnitude_per_layer.push_back(max_mag < 0 ? std::nan("") : max_mag);
    r.max_token_per_layer.push_back(max_token);
    r.max_dim_per_layer.push_back(max_dim);
    r.health_per_layer.push_back(health);
  }
  return r;
}

}  // namespace sinkscope::analyzers::sink
