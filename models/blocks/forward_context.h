// Per-forward state shared by all architectures: masks, positions, the capture sink of the
// current layer and the interventions resolved to batch coordinates.
//
// An architecture's forward is a straight loop:
//   ForwardContext ctx(batch, options, info);
//   at::Tensor h = embed(ctx.Pack(batch.input_ids));               // [N,D] real tokens only
//   for (int l = 0; l < L; ++l) {
//     LayerRecorder rec = ctx.BeginLayer(l);
//     ... rec.CaptureTokens(CapturePoint::kHiddenIn, h); ...
//     ... q = SplitHeads(ctx.Unpack(q_proj(x)), …) → Attend → ctx.Pack(MergeHeads(out)) ...
//     RETURN_IF_ERROR(ctx.EndLayer(rec, visitor));
//   }
//
// Token layout: everything that works token by token (projections, norms, MLPs, residual adds)
// runs on the batch's real tokens packed as [N,...] (N = Σ lengths), so padding costs no
// matrix-product work; only attention, which mixes tokens, runs on the padded [B,H,T,S]
// layout. Captures and results are returned padded, [B,T,...], with zeros at padding.
#pragma once

#include <vector>

#include <ATen/ATen.h>

#include "core/status.h"
#include "models/capture.h"
#include "models/model.h"

namespace sinkscope::models::blocks {

/// Attention-key intervention resolved for one layer: which heads, and a [B,1,1,S] column factor.
struct ResolvedAttentionIntervention {
  at::Tensor head_mask;      ///< [1,H,1,1] bool: heads to modify
  at::Tensor column_factor;  ///< [B,1,1,S] float: scale at chosen columns, 1 elsewhere
};

/// MLP intervention resolved for one layer.
struct ResolvedMlpIntervention {
  MlpIntervention::Kind kind;
  at::Tensor token_mask;  ///< [N,1] bool, packed layout: tokens to modify
  at::Tensor direction;   ///< [D] unit vector (kAblateDirection), on device, compute dtype
  double scale = 1.0;
};

class ForwardContext;

/// Which keys each query may not attend, in the two forms attention uses.
struct AttentionMask {
  at::Tensor blocked;  ///< [B,1,T,S] bool, true where the key is masked; undefined: none is
  /// [B,1,T,S] float32: 0 or finfo(float32).min, added to float32 scores as HF's additive masks
  /// are (one broadcast add; masked_fill with a broadcast mask was 10× slower). Undefined when
  /// nothing is masked or the model does not compute in float32 (then masked_fill is used: an
  /// added min can overflow to −inf in fp16/bf16).
  at::Tensor bias;
};

/// Collects the captures of one layer and applies that layer's interventions.
class LayerRecorder {
 public:
  LayerRecorder(int layer, const CaptureOptions& capture, const ForwardContext& context);

  int layer() const { return capture_.layer; }
  bool Wants(CapturePoint p) const { return active_ && options_.Wants(p); }
  /// Stores a float32 copy of `t` when `p` is requested for this layer.
  void Capture(CapturePoint p, const at::Tensor& t);
  /// Same for a per-token tensor in the packed layout [N,...]: stored padded as [B,T,...].
  void CaptureTokens(CapturePoint p, const at::Tensor& packed);
  LayerCapture& capture() { return capture_; }

  std::vector<const ResolvedAttentionIntervention*> attention_interventions;
  std::vector<const ResolvedMlpIntervention*> mlp_interventions;

 private:
  const CaptureOptions& options_;
  const ForwardContext& context_;
  bool active_ = false;
  LayerCapture capture_;
};

class ForwardContext {
 public:
  /// `batch` must already be on the model's device.
  ForwardContext(const Batch& batch, const ForwardOptions& options, const ModelInfo& info);

  /// [B,T] int64 position ids: 0,1,2,… over each sentence's real tokens (so left and right
  /// padding give the same positions as the unpadded sentence); 0 at padding.
  const at::Tensor& position_ids() const { return position_ids_; }
  /// Keys query t may NOT attend (padding keys and, if causal, the future). Empty when every
  /// query may attend every key (an encoder batch without padding): attention skips masking.
  const AttentionMask& mask() const { return mask_; }
  const Batch& batch() const { return batch_; }

  /// [B,T,...] → [N,...]: the real tokens of every sentence, in order (a view when the batch
  /// has no padding).
  at::Tensor Pack(const at::Tensor& padded) const;
  /// [N,...] → [B,T,...] with zeros at padding (a view when the batch has no padding).
  at::Tensor Unpack(const at::Tensor& packed) const;
  const ModelInfo& info() const { return info_; }

  /// Where an architecture may stop early (ForwardOptions::stop_after_captures).
  enum class Stage {
    kAfterAttention,  ///< attention probabilities and per-head outputs are captured
    kEndOfLayer,      ///< the layer is done
  };
  /// True when stop_after_captures is set and nothing requested comes after `stage` of `layer`:
  /// the architecture then ends the layer (EndLayer) and returns an empty ForwardResult.
  bool CapturesDone(int layer, Stage stage) const;

  LayerRecorder BeginLayer(int layer) const;
  /// Hands the layer's capture to the visitor (if anything was captured).
  Status EndLayer(LayerRecorder& recorder, const LayerVisitor& visitor) const;

 private:
  const Batch& batch_;
  const ForwardOptions& options_;
  const ModelInfo& info_;
  at::Tensor position_ids_;
  AttentionMask mask_;
  int last_captured_layer_ = -1;  ///< highest layer with a requested capture; -1: none
  at::Tensor token_index_;  ///< [N] int64 indices of real tokens in [B*T]; undefined: no padding
  std::vector<std::vector<ResolvedAttentionIntervention>> attention_by_layer_;
  std::vector<std::vector<ResolvedMlpIntervention>> mlp_by_layer_;
};

/// Applies the layer's MLP interventions to an MLP output in the packed layout [N,D].
at::Tensor ApplyMlpInterventions(const LayerRecorder& recorder, at::Tensor mlp_out);

}  // namespace sinkscope::models::blocks
