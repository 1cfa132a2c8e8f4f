// The paper's reference-frame types (spec sinks-frames-decomposition §2), decided from sink
// metrics aggregated over a sentence set by a documented, deterministic rule, with the evidence
// returned next to the label.
//
// Evidence (from sink::ComputeSinkMetrics of every sentence; layer 0 is skipped because attention
// there is mostly positional and local):
//  * first_share: the share of (sentence, layer ≥ 1, head) whose sink key (largest α) is in the
//    position class "first";
//  * ends_share: the share whose sink key is first or last;
//  * distinct_sinks_per_sentence: the number of distinct sink keys over a sentence's heads and
//    layers ≥ 1, averaged over sentences;
//  * top1_over_top3: for the head-mean α of each layer ≥ 1, α_(1) / (α_(1) + α_(2) + α_(3)),
//    averaged — how much one key dominates the anchors;
//  * end_symmetry: α_last / α_first of the head mean (bidirectional models only), averaged;
//  * alignment profile (optional input): mean geometric–semantic alignment of the early and the
//    deep half of the layers.
// Rule (thresholds are options): bidirectional attention with ends_share ≥ min_ends_share and
// end_symmetry ≥ min_end_symmetry → kBidirectional; causal (or any) with first_share ≥
// min_first_share and top1_over_top3 ≥ min_top1_share → kCentralized; first_share <
// min_first_share and (distinct_sinks_per_sentence ≥ min_distinct or top1_over_top3 <
// min_top1_share) → kDistributed; anything else → kUnclassified (reported as such, never forced).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "analyzers/sink/sink_metrics.h"
#include "core/status.h"

namespace sinkscope::analyzers::frames {

enum class FrameType { kCentralized, kDistributed, kBidirectional, kUnclassified };

/// "centralized", "distributed", "bidirectional", "unclassified".
std::string_view FrameTypeName(FrameType type);

struct FrameOptions {
  double min_first_share = 0.6;   ///< centralized: sinks on the first token at least this often
  double min_top1_share = 0.6;    ///< centralized: one key holds this share of the top three
  double min_distinct = 3.0;      ///< distributed: at least this many sink keys per sentence
  double min_ends_share = 0.5;    ///< bidirectional: sinks on the first or last token this often
  double min_end_symmetry = 0.2;  ///< bidirectional: α_last / α_first at least this
};

struct FrameEvidence {
  int64_t num_sentences = 0;
  int64_t num_heads_counted = 0;  ///< valid (sentence, layer ≥ 1, head) triples
  bool causal = true;             ///< all sentences causal
  double first_share = 0;
  double ends_share = 0;
  double distinct_sinks_per_sentence = 0;
  double top1_over_top3 = 0;
  double end_symmetry = 0;     ///< NaN for causal models
  double early_alignment = 0;  ///< NaN without an alignment profile
  double deep_alignment = 0;
  /// first_share per layer (layer 0 included, for the report).
  std::vector<double> first_share_by_layer;
};

struct FrameResult {
  FrameType type = FrameType::kUnclassified;
  std::string reason;  ///< which thresholds decided, with the values
  FrameEvidence evidence;
  FrameOptions options;
};

/// Classifies a model from its sentences' sink metrics (at least one sentence, all with the same
/// layer and head counts); `alignment_by_layer` (optional) is the mean geometric–semantic
/// alignment per layer. InvalidArgument for an empty set, inconsistent shapes, or an alignment
/// profile of the wrong length.
StatusOr<FrameResult> ClassifyReferenceFrame(const std::vector<sink::SinkResult>& sentences,
                                             const FrameOptions& options = {},
                                             const std::vector<double>& alignment_by_layer = {});

}  // namespace sinkscope::analyzers::frames
