// Multi-head attention with capture and interventions, as Hugging Face's eager path computes it:
// scores = (q · kᵀ) · scaling, masked keys set to finfo(dtype).min, softmax in float32, cast back
// to the activations' dtype, then probabilities · v. Grouped-query attention repeats each
// key/value head for its group of query heads (transformers repeat_kv), so attention is reported
// per query head.
#pragma once

#include <ATen/ATen.h>

#include "models/blocks/forward_context.h"

namespace sinkscope::models::blocks {

/// [B,T,H*hd] → [B,H,T,hd]
at::Tensor SplitHeads(const at::Tensor& x, int64_t heads, int64_t head_dim);
/// [B,H,T,hd] → [B,T,H*hd]
at::Tensor MergeHeads(const at::Tensor& x);

/// How the raw q·kᵀ is scaled: multiplied by `factor` (most HF models) or divided by
/// `divisor` (BERT's `/ math.sqrt(head_size)`) — the same value, kept apart so rounding follows HF.
struct ScoreScale {
  double factor = 1.0;
  double divisor = 0.0;  ///< used instead of factor when > 0
};

/// q [B,H,T,hd] (after rotary), k/v [B,KV,S,hd]; `mask`: the keys each query may not attend.
/// Captures q, k, v, scores, attention, attn_heads; applies the layer's attention-key
/// interventions to the probabilities before they multiply v. Returns [B,H,T,hd].
at::Tensor Attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, ScoreScale scale,
                  const AttentionMask& mask, LayerRecorder& recorder);

}  // namespace sinkscope::models::blocks
