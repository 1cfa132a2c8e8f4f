#include "analyzers/sink/sink_metrics.h"

#include <cctype>
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

bool IsCausal(const double* data, int64_t count, int64_t n) {
  for (int64_t m = 0; m < count; ++m) {
    const double* a = data + m * n * n;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = i + 1; j < n; ++j) {
        if (a[i * n + j] != 0) return false;
      }
    }
  }
  return true;
}

InputHealth Health(Matrix a) {
  InputHealth h;
  for (int64_t k = 0; k < a.n * a.n; ++k) {
    const double v = a.data[k];
    if (std::isnan(v)) ++h.num_nan;
    if (std::isinf(v)) ++(v > 0 ? h.num_posinf : h.num_neginf);
  }
  return h;
}

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
  m.health = Health(a);
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

std::string_view PositionClassName(PositionClass c) {
  switch (c) {
    case PositionClass::kFirst:
      return "first";
    case PositionClass::kLast:
      return "last";
    case PositionClass::kPunctuation:
      return "punctuation";
    case PositionClass::kFirstContentWord:
      return "first-content-word";
    case PositionClass::kOther:
      return "other";
  }
  return "other";
}

std::vector<PositionClass> ClassifyPositions(const std::vector<std::string>& tokens,
                                             const std::vector<int64_t>& special_positions) {
  const auto n = static_cast<int64_t>(tokens.size());
  std::vector<PositionClass> classes(tokens.size(), PositionClass::kOther);
  std::vector<bool> special(tokens.size(), false);
  for (int64_t p : special_positions) {
    if (p >= 0 && p < n) special[p] = true;
  }
  auto is_punctuation = [](std::string_view text) {
    // Strip the word-boundary markers of byte-level BPE (Ġ, U+0120), SentencePiece (▁, U+2581)
    // and WordPiece (##).
    for (std::string_view marker : {"\xC4\xA0", "\xE2\x96\x81", "##"}) {
      while (text.substr(0, marker.size()) == marker) text.remove_prefix(marker.size());
    }
    if (text.empty()) return false;
    for (char c : text) {
      if (!std::ispunct(static_cast<unsigned char>(c))) return false;
    }
    return true;
  };
  bool content_seen = false;
  for (int64_t i = 0; i < n; ++i) {
    if (i == 0) {
      classes[i] = PositionClass::kFirst;
    } else if (i == n - 1 && special[i]) {
      classes[i] = PositionClass::kLast;
    } else if (is_punctuation(tokens[i])) {
      classes[i] = PositionClass::kPunctuation;
      continue;
    }
    if (!content_seen && !special[i] && !is_punctuation(tokens[i])) {
      content_seen = true;
      if (i != 0) classes[i] = PositionClass::kFirstContentWord;
    }
  }
  return classes;
}

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
      result.causal = IsCausal(data, result.num_layers * heads, n);
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
