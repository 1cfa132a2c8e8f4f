#include "analyzers/sink/sink_metrics.h"

#include "analyzers/common/positions.h"

#include <cmath>
#include <limits>

#include "core/torch_call.h"

namespace sinkscope::analyzers::sink {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Row-major view of one n×n float64 matrix.
struct Matrix {
  const double* data;
  int64_t n;
  double at(int64_t i, int64_t j) const { return data[i * n + j]; }
};

/// α_j for every key: the mean attention j receives from the queries that can see it.
std::vector<double> KeyImportance(Matrix a, bool causal) {
  std::vector<double> alpha(static_cast<size_t>(a.n), 0.0);
  for (int64_t j = 0; j < a.n; ++j) {
    const int64_t first_query = causal ? j : 0;
    double sum = 0;
    for (int64_t i = first_query; i < a.n; ++i) sum += a.at(i, j);
    alpha[j] = sum / static_cast<double>(a.n - first_query);
  }
  return alpha;
}

HeadSinkMetrics HeadMetrics(Matrix a, int head, bool causal, const SinkOptions& options,
                            std::vector<double>* alpha_out) {
  HeadSinkMetrics m;
  m.head = head;
  m.health = CountNonFinite(std::span<const double>(a.data, static_cast<size_t>(a.n * a.n)));
  m.valid = m.health.valid();
  if (!m.valid) {
    m.first_token_mass = m.first_vs_others_ratio = m.sink_key_importance = kNaN;
    m.top_key_importance = kNaN;
    m.top_key = -1;
    if (alpha_out) alpha_out->assign(static_cast<size_t>(a.n), kNaN);
    return m;
  }
  const int64_t n = a.n;
  // Q: rows 1..n−1 for causal models (row 0 sees only itself), every row otherwise.
  const int64_t first_query = causal ? 1 : 0;
  double first = 0, others = 0;
  double other_pairs = 0;
  for (int64_t i = first_query; i < n; ++i) {
    first += a.at(i, 0);
    const int64_t last_key = causal ? i : n - 1;
    for (int64_t j = 1; j <= last_key; ++j) others += a.at(i, j);
    other_pairs += static_cast<double>(last_key);
  }
  const double queries = static_cast<double>(n - first_query);
  m.first_token_mass = queries > 0 ? first / queries : kNaN;
  if (queries == 0 || other_pairs == 0) {
    m.first_vs_others_ratio = kNaN;
  } else {
    const double others_mean = others / other_pairs;
    m.first_vs_others_ratio =
        others_mean > 0 ? m.first_token_mass / others_mean
                        : (m.first_token_mass > 0 ? std::numeric_limits<double>::infinity() : kNaN);
  }
  std::vector<double> alpha = KeyImportance(a, causal);
  m.sink_key_importance = alpha[static_cast<size_t>(options.sink_key)];
  m.is_sink_head = m.sink_key_importance > options.epsilon;
  for (int64_t j = 1; j < n; ++j) {
    if (alpha[j] > alpha[m.top_key]) m.top_key = j;
  }
  m.top_key_importance = alpha[m.top_key];
  if (!options.position_classes.empty()) {
    m.top_key_class = options.position_classes[m.top_key];
  } else {
    m.top_key_class = m.top_key == 0 ? PositionClass::kFirst : PositionClass::kOther;
  }
  if (alpha_out) *alpha_out = std::move(alpha);
  return m;
}

Status Validate(const at::Tensor& attention, const SinkOptions& options) {
  if (!attention.defined()) return InvalidArgumentError("attention is missing");
  if (attention.dim() != 3 && attention.dim() != 4) {
    return InvalidArgumentError(
        "sink metrics need attention [layers, heads, n, n] or [heads, n, n], got shape {}",
        c10::str(attention.sizes()));
  }
  RETURN_IF_ERROR(ValidateAttention(attention.dim() == 4 ? attention[0] : attention));
  if (attention.dim() == 4 && attention.size(0) < 1) {
    return InvalidArgumentError("attention has no layers (shape {})", c10::str(attention.sizes()));
  }
  const int64_t n = attention.size(-1);
  if (options.sink_key < 0 || options.sink_key >= n) {
    return InvalidArgumentError("sink_key {} is outside [0, {})", options.sink_key, n);
  }
  if (!(options.epsilon >= 0 && options.epsilon <= 1)) {
    return InvalidArgumentError("epsilon must be in [0, 1], got {}", options.epsilon);
  }
  if (!options.position_classes.empty() &&
      static_cast<int64_t>(options.position_classes.size()) != n) {
    return InvalidArgumentError("{} position classes for {} tokens",
                                options.position_classes.size(), n);
  }
  return OkStatus();
}

/// Least-squares slope of y against 0..m−1 (NaN for m < 2 or a NaN value).
double Slope(const std::vector<double>& y) {
  const auto m = static_cast<double>(y.size());
  if (y.size() < 2) return kNaN;
  const double x_mean = (m - 1) / 2;
  double y_mean = 0;
  for (double v : y) y_mean += v;
  y_mean /= m;
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double dx = static_cast<double>(i) - x_mean;
    sxy += dx * (y[i] - y_mean);
    sxx += dx * dx;
  }
  return sxy / sxx;
}

}  // namespace

StatusOr<SinkResult> ComputeSinkMetrics(const at::Tensor& attention, const SinkOptions& options) {
  RETURN_IF_ERROR(Validate(attention, options));
  ASSIGN_OR_RETURN(at::Tensor maps, TorchCall("sink metrics: reading attention", [&] {
                     at::Tensor t = attention.dim() == 3 ? attention.unsqueeze(0) : attention;
                     return t.to(at::kCPU, at::kDouble).contiguous();
                   }));
  SinkResult result;
  result.num_layers = maps.size(0);
  result.num_heads = maps.size(1);
  result.num_tokens = maps.size(2);
  result.epsilon = options.epsilon;
  result.sink_key = options.sink_key;
  const int64_t n = result.num_tokens;
  const int64_t heads = result.num_heads;
  const double* data = maps.data_ptr<double>();
  switch (options.causality) {
    case Causality::kCausal:
      result.causal = true;
      break;
    case Causality::kBidirectional:
      result.causal = false;
      break;
    case Causality::kDetect:
      result.causal = IsCausal(std::span<const double>(data, static_cast<size_t>(maps.numel())), n);
      break;
  }

  std::vector<double> mean(static_cast<size_t>(n * n));
  double f_sum = 0, sinks = 0, counted = 0;
  std::vector<double> layer_f;
  result.max_layer_first_token_percent = -1;
  result.max_head_first_token_percent = -1;
  for (int64_t l = 0; l < result.num_layers; ++l) {
    LayerSinkMetrics layer;
    layer.layer = l;
    double layer_sinks = 0, layer_counted = 0;
    std::fill(mean.begin(), mean.end(), 0.0);
    for (int64_t h = 0; h < heads; ++h) {
      const double* a = data + (l * heads + h) * n * n;
      for (int64_t k = 0; k < n * n; ++k) mean[k] += a[k] / static_cast<double>(heads);
      HeadSinkMetrics m =
          HeadMetrics(Matrix{a, n}, static_cast<int>(h), result.causal, options, nullptr);
      if (m.valid) {
        layer_sinks += m.is_sink_head;
        layer_counted += 1;
        if (!std::isnan(m.first_token_mass)) {
          f_sum += m.first_token_mass;
          counted += 1;
          if (100 * m.first_token_mass > result.max_head_first_token_percent) {
            result.max_head_first_token_percent = 100 * m.first_token_mass;
            result.max_head_layer = l;
            result.max_head = static_cast<int>(h);
          }
        }
      } else {
        ++result.num_invalid;
      }
      layer.heads.push_back(m);
    }
    HeadSinkMetrics m = HeadMetrics(Matrix{mean.data(), n}, kHeadMean, result.causal, options,
                                    &layer.key_importance);
    if (!m.valid) ++result.num_invalid;
    layer.heads.push_back(m);
    layer.sink_rate_percent = layer_counted > 0 ? 100 * layer_sinks / layer_counted : kNaN;
    sinks += layer_sinks;
    const double layer_percent = 100 * m.first_token_mass;
    layer_f.push_back(layer_percent);
    if (!std::isnan(layer_percent) && layer_percent > result.max_layer_first_token_percent) {
      result.max_layer_first_token_percent = layer_percent;
      result.max_layer = l;
    }
    result.layers.push_back(std::move(layer));
  }
  // The head counts of Sink_ε and of the average are those of valid heads; with none, NaN.
  double valid_heads = 0;
  for (const auto& layer : result.layers) {
    for (const auto& h : layer.heads) valid_heads += h.head != kHeadMean && h.valid;
  }
  result.sink_rate_percent = valid_heads > 0 ? 100 * sinks / valid_heads : kNaN;
  result.avg_first_token_percent = counted > 0 ? 100 * f_sum / counted : kNaN;
  if (result.max_layer_first_token_percent < 0) result.max_layer_first_token_percent = kNaN;
  if (result.max_head_first_token_percent < 0) result.max_head_first_token_percent = kNaN;
  result.progression_slope_percent_per_layer = Slope(layer_f);
  result.progression_last_minus_first = layer_f.back() - layer_f.front();
  return result;
}

}  // namespace sinkscope::analyzers::sink
