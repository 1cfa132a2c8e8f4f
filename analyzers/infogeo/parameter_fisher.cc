#include "analyzers/infogeo/parameter_fisher.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <regex>
#include <set>

#include "analyzers/stats/distributions.h"

namespace sinkscope::analyzers::infogeo {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The integer right after the first occurrence of `marker` (up to the next '.' or the end), or
// -1 when the marker is absent or not followed by an integer (fisher.ipynb: name.split(marker)
// [1].split('.')[0].isdigit()).
int IntegerAfter(const std::string& name, const std::string& marker) {
  const size_t at = name.find(marker);
  if (at == std::string::npos) return -1;
  const size_t begin = at + marker.size();
  size_t end = name.find('.', begin);
  if (end == std::string::npos) end = name.size();
  if (end == begin || end - begin > 6) return -1;
  for (size_t i = begin; i < end; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
  }
  return std::stoi(name.substr(begin, end - begin));
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

struct KeywordGroup {
  const char* name;
  std::vector<std::string> keywords;
};

const std::vector<KeywordGroup>& PaperGroups() {
  static const std::vector<KeywordGroup> groups = {
      // NOLINT: immutable table
      {"attention", {"attention", "attn", "self", "q_proj", "k_proj", "v_proj"}},
      {"mlp", {"mlp", "feed_forward", "ffn", "dense", "fc"}},
      {"embedding", {"embed", "token", "wte", "wpe"}}};
  return groups;
}

struct PathGroup {
  const char* name;
  std::regex pattern;
};

const std::vector<PathGroup>& CorrectedGroups() {
  static const std::vector<PathGroup> groups = {
      // NOLINT: immutable table
      {"attention",
       std::regex(R"((^|\.)(self_attn\.(q_proj|k_proj|v_proj|o_proj|dense)|)"
                  R"(attention\.(query_key_value|dense)|attn\.(c_attn|c_proj))\.(weight|bias)$)")},
      {"mlp", std::regex(R"((^|\.)mlp\.(up_proj|gate_proj|down_proj|c_fc|c_proj|dense_h_to_4h|)"
                         R"(dense_4h_to_h|fc1|fc2)\.(weight|bias)$)")},
      {"norm", std::regex(R"((^|\.)([a-z_]*norm|ln_[0-9]+|ln_f|LayerNorm)\.(weight|bias)$)")},
      {"embedding", std::regex(R"((^|\.)(embed_tokens|embed_in|wte|wpe|word_embeddings|)"
                               R"(position_embeddings|token_type_embeddings)\.weight$)")},
      {"lm_head", std::regex(R"(^(lm_head|embed_out)\.(weight|bias)$)")}};
  return groups;
}

// Per distinct parameter name: its numel, summed f over samples, and how many samples had it.
struct ParameterTotals {
  int64_t numel = 0;
  double sum = 0;
};

Status Validate(const std::vector<SampleGradients>& samples, const ParameterFisherOptions& o) {
  if (samples.empty()) return InvalidArgumentError("no sample: give at least one sentence");
  if (!(o.alpha > 0 && o.alpha < 1)) {
    return InvalidArgumentError("alpha must be in (0, 1), got {}", o.alpha);
  }
  std::map<std::string, int64_t> numel;
  for (size_t k = 0; k < samples.size(); ++k) {
    std::set<std::string> seen;
    for (const auto& p : samples[k]) {
      if (p.name.empty()) return InvalidArgumentError("sample {}: empty parameter name", k);
      if (!seen.insert(p.name).second) {
        return InvalidArgumentError("sample {}: parameter '{}' listed twice", k, p.name);
      }
      if (p.numel < 1) {
        return InvalidArgumentError("sample {}: '{}' has numel {}; must be ≥ 1", k, p.name,
                                    p.numel);
      }
      auto [it, inserted] = numel.emplace(p.name, p.numel);
      if (!inserted && it->second != p.numel) {
        return InvalidArgumentError("'{}' has numel {} in one sample and {} in another", p.name,
                                    it->second, p.numel);
      }
      if (p.squared_norm < 0) {
        return InvalidArgumentError("sample {}: '{}' has a negative squared norm {}", k, p.name,
                                    p.squared_norm);
      }
      if (o.mode == FisherMode::kPaper) {
        if (!p.paper_fp16_squared_norm) {
          return InvalidArgumentError(
              "sample {}: '{}' has no fp16-emulated norm, which PAPER mode needs (sinkscope-run "
              "--parameter-gradients writes it)",
              k, p.name);
        }
        if (*p.paper_fp16_squared_norm < 0) {
          return InvalidArgumentError("sample {}: '{}' has a negative fp16 squared norm", k,
                                      p.name);
        }
      }
    }
  }
  return OkStatus();
}

PaperConsecutiveWindows ConsecutiveWindows(const std::vector<double>& x,
                                           const std::vector<double>& f, double alpha) {
  PaperConsecutiveWindows w;
  double sum_r = 0, sum_p = 0;
  int64_t significant = 0;
  for (size_t i = 0; i + 2 < f.size(); ++i) {
    if (f[i] == f[i + 1] && f[i + 1] == f[i + 2]) {
      ++w.num_skipped;
      continue;
    }
    auto c = stats::Pearson(std::span<const double>(x).subspan(i, 3),
                            std::span<const double>(f).subspan(i, 3));
    if (!c.ok()) continue;  // cannot happen: three pairs
    ++w.num_windows;
    sum_r += c->r;
    sum_p += c->p_value;
    if (c->p_value < alpha) ++significant;
  }
  if (w.num_windows == 0) {
    w.mean_r = w.mean_p = w.fraction_significant = kNaN;
  } else {
    const auto n = static_cast<double>(w.num_windows);
    w.mean_r = sum_r / n;
    w.mean_p = sum_p / n;
    w.fraction_significant = static_cast<double>(significant) / n;
  }
  return w;
}

// Mann–Kendall: Kendall's S of f against its (strictly increasing) positions x.
FisherTrendTest TrendTest(const std::vector<double>& x, const std::vector<double>& f) {
  FisherTrendTest t;
  const auto n = static_cast<int64_t>(f.size());
  t.n = n;
  double s = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = i + 1; j < n; ++j) s += (f[j] > f[i]) - (f[j] < f[i]);
  }
  t.kendall_s = s;
  for (double v : f) {
    if (!std::isfinite(v)) {  // a non-finite trace (counted in num_nonfinite) has no rank
      t.kendall_s = t.tau_b = t.z = t.p_value = t.ols_slope = kNaN;
      return t;
    }
  }
  // Tie groups in f: var(S) = [n(n−1)(2n+5) − Σ u(u−1)(2u+5)] / 18; τ-b's denominator
  // √(n0 (n0 − n1)) with n0 = n(n−1)/2 and n1 = Σ u(u−1)/2 (x has no ties).
  std::vector<double> sorted = f;
  std::sort(sorted.begin(), sorted.end());
  const double dn = static_cast<double>(n);
  double var = dn * (dn - 1) * (2 * dn + 5), ties = 0;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i + 1;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    const double u = static_cast<double>(j - i);
    var -= u * (u - 1) * (2 * u + 5);
    ties += u * (u - 1) / 2;
    i = j;
  }
  var /= 18;
  const double n0 = dn * (dn - 1) / 2;
  const double denom = std::sqrt(n0 * (n0 - ties));
  t.tau_b = denom > 0 ? s / denom : kNaN;
  if (var > 0) {
    t.z = s / std::sqrt(var);
    t.p_value = std::min(1.0, 2 * stats::NormalSurvival(std::abs(t.z)));
  } else {
    t.z = t.p_value = kNaN;
  }
  const double mx = [&] {
    double m = 0;
    for (double v : x) m += v;
    return m / dn;
  }();
  const double mf = [&] {
    double m = 0;
    for (double v : f) m += v;
    return m / dn;
  }();
  double sxy = 0, sxx = 0;
  for (int64_t i = 0; i < n; ++i) {
    sxy += (x[i] - mx) * (f[i] - mf);
    sxx += (x[i] - mx) * (x[i] - mx);
  }
  t.ols_slope = sxx > 0 ? sxy / sxx : kNaN;
  return t;
}

}  // namespace

int FisherLayerOf(const std::string& name, bool gpt2_blocks) {
  if (name.find("layers.") != std::string::npos) {
    const int k = IntegerAfter(name, "layers.");
    if (k >= 0) return k;
  }
  if (const int k = IntegerAfter(name, "layer."); k >= 0) return k;
  if (gpt2_blocks) {
    // transformer.h.<k>. (or h.<k>. at the start of a base-model name)
    if (name.rfind("h.", 0) == 0) {
      if (const int k = IntegerAfter(name, "h."); k >= 0) return k;
    }
    if (const int k = IntegerAfter(name, ".h."); k >= 0) return k;
  }
  return -1;
}

std::string PaperFisherGroupOf(const std::string& name) {
  const std::string lower = Lower(name);
  for (const auto& g : PaperGroups()) {
    for (const auto& kw : g.keywords) {
      if (lower.find(kw) != std::string::npos) return g.name;
    }
  }
  return "";
}

std::string CorrectedFisherGroupOf(const std::string& name) {
  for (const auto& g : CorrectedGroups()) {
    if (std::regex_search(name, g.pattern)) return g.name;
  }
  return "";
}

StatusOr<ParameterFisherResult> ComputeParameterFisher(const std::vector<SampleGradients>& samples,
                                                       const ParameterFisherOptions& options) {
  RETURN_IF_ERROR(Validate(samples, options));
  const bool paper = options.mode == FisherMode::kPaper;
  ParameterFisherResult r;
  r.mode = options.mode;
  r.quantity = paper ? "PAPER empirical Fisher trace (fisher.ipynb): observed labels, pads in "
                       "the labels, fp16-emulated gradient norms"
                     : "CORRECTED empirical Fisher trace: observed labels, fp32 gradients";
  r.num_samples = static_cast<int64_t>(samples.size());

  std::map<std::string, ParameterTotals> totals;
  for (const auto& sample : samples) {
    for (const auto& p : sample) {
      const double f = paper ? *p.paper_fp16_squared_norm : p.squared_norm;
      ParameterTotals& t = totals[p.name];
      t.numel = p.numel;
      if (!std::isfinite(f)) ++r.num_nonfinite;
      if (paper && std::isinf(f) && f > 0) ++r.num_fp16_overflow;
      if (paper && f == 0) {
        ++r.num_zero_skipped;  // "every parameter with a gradient that is not all zero"
        continue;
      }
      t.sum += f;
    }
  }

  const double n = static_cast<double>(r.num_samples);
  std::map<int, FisherLayerTrace> by_layer;  // -1 = other, sorted last below
  std::vector<std::string> group_order =
      paper ? std::vector<std::string>{"attention", "mlp", "embedding"}
            : std::vector<std::string>{"attention", "mlp", "norm", "embedding", "lm_head"};
  std::map<std::string, FisherGroupTrace> by_group;
  for (const auto& g : group_order) by_group[g].name = g;
  for (const auto& [name, t] : totals) {
    const int layer = FisherLayerOf(name, /*gpt2_blocks=*/!paper);
    FisherLayerTrace& lt = by_layer[layer];
    lt.layer = layer;
    lt.key = layer >= 0 ? "layer_" + std::to_string(layer) : "other";
    lt.trace += t.sum / n;
    lt.num_parameters += t.numel;
    r.num_parameters += t.numel;
    const std::string group = paper ? PaperFisherGroupOf(name) : CorrectedFisherGroupOf(name);
    if (group.empty()) {
      r.ungrouped.push_back(name);
      continue;
    }
    FisherGroupTrace& gt = by_group[group];
    gt.trace += t.sum / n;
    gt.num_parameters += t.numel;
    ++gt.num_tensors;
  }
  for (auto& [layer, lt] : by_layer) {
    if (!paper && lt.num_parameters > 0) {
      lt.per_parameter_trace = lt.trace / static_cast<double>(lt.num_parameters);
    }
    r.total += lt.trace;
    if (layer >= 0) r.layers.push_back(lt);
  }
  if (by_layer.count(-1)) r.layers.push_back(by_layer[-1]);
  for (const auto& g : group_order) {
    FisherGroupTrace gt = by_group[g];
    if (!paper && gt.num_parameters > 0) {
      gt.per_parameter_trace = gt.trace / static_cast<double>(gt.num_parameters);
    }
    r.groups.push_back(gt);
  }

  std::vector<double> x, f;
  for (const auto& lt : r.layers) {
    if (lt.layer < 0) continue;
    x.push_back(lt.layer);
    f.push_back(lt.trace);
  }
  if (x.size() >= 2) {
    ASSIGN_OR_RETURN(r.layer_position_pearson, stats::Pearson(x, f));
    ASSIGN_OR_RETURN(r.layer_position_spearman, stats::Spearman(x, f));
  }
  if (paper) {
    PaperSignificance sig;
    if (r.layer_position_pearson) {
      ++sig.total_tests;
      if (r.layer_position_pearson->p_value < options.alpha) ++sig.significant_tests;
    }
    if (x.size() >= 3) {
      r.paper_consecutive = ConsecutiveWindows(x, f, options.alpha);
      if (r.paper_consecutive->num_windows > 0) {
        ++sig.total_tests;
        if (r.paper_consecutive->mean_p < options.alpha) ++sig.significant_tests;
      }
    }
    sig.ratio = sig.total_tests > 0 ? static_cast<double>(sig.significant_tests) /
                                          static_cast<double>(sig.total_tests)
                                    : 0.0;
    r.paper_significance = sig;
  } else if (x.size() >= 2) {
    r.trend = TrendTest(x, f);
  }
  return r;
}

}  // namespace sinkscope::analyzers::infogeo
