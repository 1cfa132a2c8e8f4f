#include "analyzers/frames/reference_frames.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <span>

#include <fmt/format.h>

#include "analyzers/stats/descriptive.h"

namespace sinkscope::analyzers::frames {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

std::string_view FrameTypeName(FrameType type) {
  switch (type) {
    case FrameType::kCentralized:
      return "centralized";
    case FrameType::kDistributed:
      return "distributed";
    case FrameType::kBidirectional:
      return "bidirectional";
    case FrameType::kUnclassified:
      return "unclassified";
  }
  return "unclassified";
}

StatusOr<FrameResult> ClassifyReferenceFrame(const std::vector<sink::SinkResult>& sentences,
                                             const FrameOptions& options,
                                             const std::vector<double>& alignment_by_layer) {
  if (sentences.empty()) return InvalidArgumentError("reference frames need ≥ 1 sentence");
  const int64_t layers = sentences[0].num_layers;
  const int64_t heads = sentences[0].num_heads;
  for (size_t s = 0; s < sentences.size(); ++s) {
    if (sentences[s].num_layers != layers || sentences[s].num_heads != heads) {
      return InvalidArgumentError(
          "sentence {} has {} layers × {} heads, sentence 0 has {} × {}: one model per call", s,
          sentences[s].num_layers, sentences[s].num_heads, layers, heads);
    }
  }
  if (!alignment_by_layer.empty() && static_cast<int64_t>(alignment_by_layer.size()) != layers) {
    return InvalidArgumentError("alignment profile has {} layers, the model {}",
                                alignment_by_layer.size(), layers);
  }
  FrameResult result;
  result.options = options;
  FrameEvidence& e = result.evidence;
  e.num_sentences = static_cast<int64_t>(sentences.size());
  std::vector<double> first_by_layer(static_cast<size_t>(layers), 0.0);
  std::vector<double> counted_by_layer(static_cast<size_t>(layers), 0.0);
  double first = 0, ends = 0, counted = 0;
  std::vector<double> distinct, top_share, symmetry;
  for (const auto& sentence : sentences) {
    e.causal = e.causal && sentence.causal;
    std::set<int64_t> keys;
    for (const auto& layer : sentence.layers) {
      for (const auto& head : layer.heads) {
        if (head.head == kHeadMean || !head.valid) continue;
        const bool is_first = head.top_key_class == PositionClass::kFirst;
        const bool is_end = is_first || head.top_key_class == PositionClass::kLast;
        first_by_layer[layer.layer] += is_first;
        counted_by_layer[layer.layer] += 1;
        if (layer.layer == 0) continue;
        first += is_first;
        ends += is_end;
        counted += 1;
        keys.insert(head.top_key);
      }
      if (layer.layer == 0) continue;
      // Head-mean α: the share of the strongest key among the top three, and end symmetry.
      std::vector<double> alpha = layer.key_importance;
      if (alpha.empty() ||
          std::any_of(alpha.begin(), alpha.end(), [](double a) { return std::isnan(a); })) {
        continue;
      }
      std::vector<double> sorted = alpha;
      std::sort(sorted.begin(), sorted.end(), std::greater<>());
      double top3 = 0;
      for (size_t i = 0; i < std::min<size_t>(3, sorted.size()); ++i) top3 += sorted[i];
      if (top3 > 0) top_share.push_back(sorted[0] / top3);
      if (!sentence.causal && alpha.front() > 0) symmetry.push_back(alpha.back() / alpha.front());
    }
    distinct.push_back(static_cast<double>(keys.size()));
  }
  e.num_heads_counted = static_cast<int64_t>(counted);
  e.first_share = counted > 0 ? first / counted : kNaN;
  e.ends_share = counted > 0 ? ends / counted : kNaN;
  e.distinct_sinks_per_sentence = stats::NanMean(distinct);
  e.top1_over_top3 = stats::NanMean(top_share);
  e.end_symmetry = e.causal ? kNaN : stats::NanMean(symmetry);
  for (int64_t l = 0; l < layers; ++l) {
    e.first_share_by_layer.push_back(
        counted_by_layer[l] > 0 ? first_by_layer[l] / counted_by_layer[l] : kNaN);
  }
  if (alignment_by_layer.empty()) {
    e.early_alignment = e.deep_alignment = kNaN;
  } else {
    const size_t half = alignment_by_layer.size() / 2;
    const std::span<const double> profile(alignment_by_layer);
    e.early_alignment = stats::NanMean(profile.first(half));
    e.deep_alignment = stats::NanMean(profile.subspan(half));
  }

  if (!e.causal && e.ends_share >= options.min_ends_share &&
      e.end_symmetry >= options.min_end_symmetry) {
    result.type = FrameType::kBidirectional;
    result.reason = fmt::format(
        "bidirectional attention; sinks on the first or last token in {:.3f} of heads (≥ {}), "
        "α_last/α_first = {:.3f} (≥ {})",
        e.ends_share, options.min_ends_share, e.end_symmetry, options.min_end_symmetry);
  } else if (e.first_share >= options.min_first_share &&
             e.top1_over_top3 >= options.min_top1_share) {
    result.type = FrameType::kCentralized;
    result.reason = fmt::format(
        "sinks on the first token in {:.3f} of heads (≥ {}), the top key holds {:.3f} of the top "
        "three (≥ {})",
        e.first_share, options.min_first_share, e.top1_over_top3, options.min_top1_share);
  } else if (e.first_share < options.min_first_share &&
             (e.distinct_sinks_per_sentence >= options.min_distinct ||
              e.top1_over_top3 < options.min_top1_share)) {
    result.type = FrameType::kDistributed;
    result.reason = fmt::format(
        "sinks on the first token in only {:.3f} of heads (< {}); {:.2f} distinct sink keys per "
        "sentence (threshold {}), top key share {:.3f} (threshold {})",
        e.first_share, options.min_first_share, e.distinct_sinks_per_sentence, options.min_distinct,
        e.top1_over_top3, options.min_top1_share);
  } else {
    result.type = FrameType::kUnclassified;
    result.reason = fmt::format(
        "no rule fits: first share {:.3f}, ends share {:.3f}, distinct sinks {:.2f}, top key share "
        "{:.3f}, end symmetry {:.3f}",
        e.first_share, e.ends_share, e.distinct_sinks_per_sentence, e.top1_over_top3,
        e.end_symmetry);
  }
  return result;
}

}  // namespace sinkscope::analyzers::frames
