// Token roles and matrix facts several analyzer families need: position classes for naming sinks
// by role (spec sinks-frames-decomposition §1, topology-spectral §8.5), causality detection, and
// non-finite counts over raw buffers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analyzers/common/attention_matrices.h"

namespace sinkscope::analyzers {

/// Where a token sits, so a sink is named by its role rather than by its token string (which
/// changes from sentence to sentence for models without BOS).
enum class PositionClass { kFirst, kLast, kPunctuation, kFirstContentWord, kOther };

/// "first", "last", "punctuation", "first-content-word", "other".
std::string_view PositionClassName(PositionClass c);

/// Position classes of n tokens. `tokens` are the tokenizer's token strings (Ġ/▁/## markers
/// allowed), `special_positions` the positions of special tokens (BOS, EOS, CLS, SEP, …).
/// Position 0 is kFirst; position n − 1 is kLast when it is a special token; a token whose text
/// (markers stripped) is non-empty and all ASCII punctuation is kPunctuation; the first remaining
/// non-special position is kFirstContentWord; everything else kOther.
std::vector<PositionClass> ClassifyPositions(const std::vector<std::string>& tokens,
                                             const std::vector<int64_t>& special_positions);

/// Whether `count` stacked row-major n×n matrices are all causal: every strict-upper entry is
/// exactly 0 (a 1×1 matrix counts as causal).
bool IsCausal(std::span<const double> matrices, int64_t n);

/// NaN, +∞ and −∞ counts of raw values.
InputHealth CountNonFinite(std::span<const double> values);

}  // namespace sinkscope::analyzers
