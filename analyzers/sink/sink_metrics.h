// Attention-sink metrics of one sentence across layers (spec sinks-frames-decomposition §1 and
// paper-infogeo-value §7), CORRECTED definitions:
//  * first-token mass f^{ℓ,h} = mean_{i∈Q} A_{i,0}, Q = queries that can see key 0 other than key 0
//    itself for causal models (i ≥ 1), every row for bidirectional ones;
//  * Gu et al. (ICLR 2025) key importance α_k = (1/(n−k)) Σ_{i=k}^{n−1} A_{i,k} for causal models
//    (the queries that can see k), the column mean for bidirectional ones, and
//    Sink_k^ε = 100·(1/(L·H)) Σ_{ℓ,h} 1[α_k^{ℓ,h} > ε] (ε = 0.3 by default; 0.8 in Barbero et al.
//    2025);
//  * the Attention Sink Analyzer's measures defined soundly: average first-token %, the largest
//    per-layer head-mean f and, named apart, the largest single head; first-vs-others ratio =
//    f / the mean attention a non-first key receives from the same queries; layer progression as
//    the least-squares slope of the per-layer head-mean f and last − first; the exposure-corrected
//    position distribution (α_j for every key);
//  * sink identity: per head, the key with the largest α (lowest index on ties) and its position
//    class (BOS/first, EOS/last, punctuation, first content word, other) — replaces the paper's
//    token-string head specialization, which breaks for models without BOS.
// The PAPER (explorer script) definitions are in paper_sink_metrics.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/ATen.h>

#include "analyzers/common/attention_matrices.h"
#include "analyzers/common/positions.h"
#include "core/status.h"

namespace sinkscope::analyzers::sink {

/// Whether attention is causal: decided from the data (every strict-upper entry of every matrix
/// exactly 0) unless forced.
enum class Causality { kDetect, kCausal, kBidirectional };

struct SinkOptions {
  /// ε of Sink_k^ε and of the per-head sink flag: a head is a sink head for key k if α_k > ε.
  double epsilon = 0.3;
  /// The key k whose sink rate is reported (0: the first token).
  int64_t sink_key = 0;
  Causality causality = Causality::kDetect;
  /// Optional position classes (size n) for naming each head's sink; empty → reported as kOther
  /// except position 0 (kFirst).
  std::vector<PositionClass> position_classes;
};

/// One head (or the head mean) of one layer.
struct HeadSinkMetrics {
  int head = kHeadMean;
  InputHealth health;
  bool valid = true;
  /// f: mean attention on key 0 over the queries Q (NaN for a causal n = 1: Q is empty).
  double first_token_mass = 0;
  /// f / (mean attention a non-first key receives from the same queries); +∞ when the others get
  /// none, NaN when n = 1.
  double first_vs_others_ratio = 0;
  /// α_k of options.sink_key, and whether it exceeds ε.
  double sink_key_importance = 0;
  bool is_sink_head = false;
  /// The key with the largest α (lowest index on ties), its α and position class.
  int64_t top_key = 0;
  double top_key_importance = 0;
  PositionClass top_key_class = PositionClass::kFirst;
};

struct LayerSinkMetrics {
  int64_t layer = 0;
  /// Every head, then the head mean (head = kHeadMean).
  std::vector<HeadSinkMetrics> heads;
  /// α_j of the head mean for every key j: the exposure-corrected position distribution.
  std::vector<double> key_importance;
  /// 100 · fraction of the (valid) heads of this layer whose α_k > ε.
  double sink_rate_percent = 0;
};

struct SinkResult {
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_tokens = 0;
  bool causal = true;
  double epsilon = 0.3;
  int64_t sink_key = 0;
  std::vector<LayerSinkMetrics> layers;
  /// Sink_k^ε in % over all valid (layer, head) pairs.
  double sink_rate_percent = 0;
  /// 100 · mean over valid (layer, head) of f.
  double avg_first_token_percent = 0;
  /// The largest per-layer head-mean f (%) and its layer.
  double max_layer_first_token_percent = 0;
  int64_t max_layer = 0;
  /// The largest single-head f (%) and where.
  double max_head_first_token_percent = 0;
  int64_t max_head_layer = 0;
  int max_head = 0;
  /// Least-squares slope of the per-layer head-mean f (%) against the layer index (NaN for one
  /// layer), and last layer − first layer (percentage points).
  double progression_slope_percent_per_layer = 0;
  double progression_last_minus_first = 0;
  /// Matrices skipped for NaN/±∞ entries (they are listed with valid = false).
  int64_t num_invalid = 0;
};

/// Sink metrics of one sentence: `attention` is [L, H, n, n] (or [H, n, n] for one layer; the
/// layer index is then 0). InvalidArgument for another rank, a non-square or empty tensor, a
/// sink key outside [0, n), ε outside [0, 1], or position classes of the wrong length.
StatusOr<SinkResult> ComputeSinkMetrics(const at::Tensor& attention, const SinkOptions& options);

}  // namespace sinkscope::analyzers::sink
