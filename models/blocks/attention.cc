#include "models/blocks/attention.h"

#include <limits>

#include <ATen/Dispatch.h>

#include "models/blocks/linear.h"

namespace sinkscope::models::blocks {

at::Tensor SplitHeads(const at::Tensor& x, int64_t heads, int64_t head_dim) {
  return x.view({x.size(0), x.size(1), heads, head_dim}).transpose(1, 2);
}

at::Tensor MergeHeads(const at::Tensor& x) {
  return x.transpose(1, 2).contiguous().view({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

namespace {

at::Tensor RepeatKv(const at::Tensor& x, int64_t n_rep) {
  if (n_rep == 1) return x;
  const auto b = x.size(0), kv = x.size(1), s = x.size(2), d = x.size(3);
  return x.unsqueeze(2).expand({b, kv, n_rep, s, d}).reshape({b, kv * n_rep, s, d});
}

// Rows renormalized over their keys after scaling chosen columns; rows with no mass left stay 0.
at::Tensor ApplyKeyIntervention(const at::Tensor& probs, const ResolvedAttentionIntervention& iv) {
  at::Tensor scaled = probs * iv.column_factor;
  at::Tensor total = scaled.sum(-1, /*keepdim=*/true);
  at::Tensor renormalized = at::where(total > 0, scaled / total, at::zeros_like(scaled));
  return at::where(iv.head_mask, renormalized, probs);
}

}  // namespace

at::Tensor Attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, ScoreScale scale,
                  const AttentionMask& mask, LayerRecorder& recorder) {
  recorder.Capture(CapturePoint::kQ, q);
  recorder.Capture(CapturePoint::kK, k);
  recorder.Capture(CapturePoint::kV, v);
  const int64_t n_rep = q.size(1) / k.size(1);
  at::Tensor keys = RepeatKv(k, n_rep);
  at::Tensor values = RepeatKv(v, n_rep);

  at::Tensor scores = BatchedMatmul(q, keys.contiguous().transpose(2, 3));  // [B,H,T,S]
  scores = scale.divisor > 0 ? scores / scale.divisor : scores * scale.factor;
  if (mask.bias.defined() && scores.scalar_type() == at::kFloat) {
    scores = scores + mask.bias;  // masked scores become finfo.min (|score| ≪ ulp(min))
  } else if (mask.blocked.defined()) {
    // finfo(dtype).min, as transformers' masks use.
    double min_value = 0.0;
    AT_DISPATCH_FLOATING_TYPES_AND2(
        at::kHalf, at::kBFloat16, scores.scalar_type(), "mask_min",
        [&] { min_value = static_cast<double>(std::numeric_limits<scalar_t>::lowest()); });
    scores = scores.masked_fill(mask.blocked, min_value);
  }
  recorder.Capture(CapturePoint::kScores, scores);

  at::Tensor probs = at::softmax(scores, -1, at::kFloat);  // [B,H,T,S] float32
  for (const ResolvedAttentionIntervention* iv : recorder.attention_interventions) {
    probs = ApplyKeyIntervention(probs, *iv);
  }
  recorder.Capture(CapturePoint::kAttention, probs);

  at::Tensor out = BatchedMatmul(probs.to(values.scalar_type()), values);  // [B,H,T,hd]
  recorder.Capture(CapturePoint::kAttnHeads, out);
  return out;
}

}  // namespace sinkscope::models::blocks
