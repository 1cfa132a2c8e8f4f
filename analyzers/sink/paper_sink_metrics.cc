#include "analyzers/sink/paper_sink_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "analyzers/common/positions.h"
#include "core/torch_call.h"

namespace sinkscope::analyzers::sink {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double MeanOf(const std::vector<double>& v, size_t begin, size_t end) {
  double sum = 0;
  for (size_t i = begin; i < end; ++i) sum += v[i];
  return sum / static_cast<double>(end - begin);
}

}  // namespace

StatusOr<PaperSinkResult> ComputePaperSinkMetrics(const at::Tensor& attention) {
  if (!attention.defined() || (attention.dim() != 3 && attention.dim() != 4)) {
    return InvalidArgumentError(
        "sink metrics need attention [layers, heads, n, n] or [heads, n, n], got shape {}",
        attention.defined() ? c10::str(attention.sizes()) : std::string("(none)"));
  }
  RETURN_IF_ERROR(ValidateAttention(attention.dim() == 4 ? attention[0] : attention));
  if (attention.dim() == 4 && attention.size(0) < 1) {
    return InvalidArgumentError("attention has no layers (shape {})", c10::str(attention.sizes()));
  }
  ASSIGN_OR_RETURN(at::Tensor maps, TorchCall("paper sink metrics: reading attention", [&] {
                     at::Tensor t = attention.dim() == 3 ? attention.unsqueeze(0) : attention;
                     return t.to(at::kCPU, at::kDouble).contiguous();
                   }));
  PaperSinkResult r;
  r.num_layers = maps.size(0);
  r.num_heads = maps.size(1);
  r.num_tokens = maps.size(2);
  const int64_t layers = r.num_layers, heads = r.num_heads, n = r.num_tokens;
  const double* data = maps.data_ptr<double>();
  r.health = CountNonFinite(std::span<const double>(data, static_cast<size_t>(maps.numel())));
  r.valid = r.health.valid();

  std::vector<double> cells;  // 100·F[ℓ,h], row-major over (ℓ, h)
  r.paper_attention_distribution.assign(static_cast<size_t>(n), 0.0);
  for (int64_t l = 0; l < layers; ++l) {
    double layer_sum = 0;
    for (int64_t h = 0; h < heads; ++h) {
      const double* a = data + (l * heads + h) * n * n;
      double f = 0;
      for (int64_t i = 0; i < n; ++i) {
        f += a[i * n];
        for (int64_t j = 0; j < n; ++j) r.paper_attention_distribution[j] += a[i * n + j];
      }
      cells.push_back(100 * f / static_cast<double>(n));
      layer_sum += cells.back();
    }
    r.paper_layer_progression.push_back(layer_sum / static_cast<double>(heads));
  }
  const double rows = static_cast<double>(layers * heads * n);
  for (double& p : r.paper_attention_distribution) p /= rows;

  r.paper_avg_first_token_attention = MeanOf(cells, 0, cells.size());
  r.paper_max_first_token_attention = *std::max_element(cells.begin(), cells.end());
  r.paper_min_first_token_attention = *std::min_element(cells.begin(), cells.end());
  const size_t window = std::min<size_t>(3, r.paper_layer_progression.size());
  const size_t count = r.paper_layer_progression.size();
  r.paper_first_layer_avg = MeanOf(r.paper_layer_progression, 0, window);
  r.paper_last_layer_avg = MeanOf(r.paper_layer_progression, count - window, count);
  r.paper_progression_increase = r.paper_last_layer_avg - r.paper_first_layer_avg;
  const auto& p = r.paper_attention_distribution;
  r.paper_first_vs_avg_ratio = n > 1 ? p[0] / MeanOf(p, 1, p.size()) : kNaN;
  double total = 0;
  for (double v : p) total += v;
  r.paper_sink_strength = p[0] / total;
  if (!r.valid) {
    // std::max_element over NaN is order-dependent: report NaN rather than an arbitrary cell.
    r.paper_max_first_token_attention = r.paper_min_first_token_attention = kNaN;
  }
  return r;
}

}  // namespace sinkscope::analyzers::sink
