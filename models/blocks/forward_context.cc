#include "models/blocks/forward_context.h"

#include <cmath>
#include <limits>

namespace sinkscope::models::blocks {

LayerRecorder::LayerRecorder(int layer, const CaptureOptions& capture,
                             const ForwardContext& context)
    : options_(capture), context_(context), active_(capture.WantsLayer(layer)) {
  capture_.layer = layer;
}

void LayerRecorder::Capture(CapturePoint p, const at::Tensor& t) {
  if (!Wants(p)) return;
  // A copy, so later in-place work in the forward can never change what the visitor sees.
  capture_.tensors[static_cast<int>(p)] = t.detach()
                                              .to(at::kFloat, /*non_blocking=*/false,
                                                  /*copy=*/true)
                                              .contiguous();
}

void LayerRecorder::CaptureTokens(CapturePoint p, const at::Tensor& packed) {
  if (!Wants(p)) return;
  Capture(p, context_.Unpack(packed));
}

namespace {

// [B,T] positions counted over real tokens only.
at::Tensor PositionsFromMask(const at::Tensor& attention_mask) {
  at::Tensor m = attention_mask.to(at::kLong);
  return ((at::cumsum(m, /*dim=*/1) - 1) * m).clamp_min(0);
}

// Sentence-relative positions → padded index for every sentence of the batch; positions past a
// sentence's end are dropped (Model::Forward has rejected those already).
at::Tensor PositionMaskBS(const Batch& batch, const std::vector<int64_t>& positions,
                          const at::Device& device) {
  const int64_t b = batch.input_ids.size(0);
  const int64_t t = batch.input_ids.size(1);
  at::Tensor mask = at::zeros({b, t}, at::kBool);
  auto acc = mask.accessor<bool, 2>();
  for (int64_t i = 0; i < b; ++i) {
    for (int64_t p : positions) {
      if (p >= 0 && p < batch.lengths[i]) acc[i][batch.offsets[i] + p] = true;
    }
  }
  return mask.to(device);
}

}  // namespace

ForwardContext::ForwardContext(const Batch& batch, const ForwardOptions& options,
                               const ModelInfo& info)
    : batch_(batch), options_(options), info_(info) {
  const auto device = batch.input_ids.device();
  const int64_t t = batch.input_ids.size(1);
  position_ids_ = PositionsFromMask(batch.attention_mask);
  int64_t real_tokens = 0;
  for (int64_t n : batch.lengths) real_tokens += n;
  const bool padded = real_tokens != batch.input_ids.numel();
  if (padded) token_index_ = batch.attention_mask.reshape({-1}).nonzero().squeeze(1);  // [N]

  const at::Tensor& keys = batch.key_mask.defined() ? batch.key_mask : batch.attention_mask;
  if (padded || info.causal || batch.key_mask.defined()) {
    at::Tensor key_ok = keys.to(at::kBool).unsqueeze(1).unsqueeze(1);  // [B,1,1,S]
    at::Tensor allowed;
    if (info.causal) {
      at::Tensor causal =
          at::ones({t, t}, at::TensorOptions().dtype(at::kBool).device(device)).tril();  // [T,S]
      allowed = key_ok & causal.unsqueeze(0).unsqueeze(0);
    } else {
      allowed = key_ok.expand({-1, 1, t, t});
    }
    mask_.blocked = allowed.logical_not();  // [B,1,T,S]
    if (info.dtype == at::kFloat) {
      mask_.bias =
          at::zeros(mask_.blocked.sizes(), at::TensorOptions().dtype(at::kFloat).device(device))
              .masked_fill_(mask_.blocked, std::numeric_limits<float>::lowest());
    }
  }

  bool any_point = false;
  for (bool wanted : options.capture.points) any_point = any_point || wanted;
  if (any_point) {
    for (int l = 0; l < info.num_layers; ++l) {
      if (options.capture.WantsLayer(l)) last_captured_layer_ = l;
    }
  }

  attention_by_layer_.resize(info.num_layers);
  for (const auto& iv : options.interventions.attention) {
    ResolvedAttentionIntervention r;
    at::Tensor heads = at::zeros({info.num_heads}, at::kBool);
    if (iv.heads.empty()) {
      heads.fill_(true);
    } else {
      for (int h : iv.heads) heads[h] = true;
    }
    r.head_mask = heads.to(device).view({1, -1, 1, 1});
    at::Tensor cols = PositionMaskBS(batch, iv.columns, device);  // [B,S]
    r.column_factor = at::where(cols, at::full({}, iv.scale, at::kFloat).to(device),
                                at::ones({}, at::TensorOptions().dtype(at::kFloat).device(device)))
                          .view({cols.size(0), 1, 1, cols.size(1)});
    for (int layer : iv.layers) attention_by_layer_[layer].push_back(r);
  }

  mlp_by_layer_.resize(info.num_layers);
  for (const auto& iv : options.interventions.mlp) {
    ResolvedMlpIntervention r;
    r.kind = iv.kind;
    r.scale = iv.scale;
    r.token_mask = Pack(PositionMaskBS(batch, iv.tokens, device)).unsqueeze(-1);  // [N,1]
    if (iv.kind == MlpIntervention::Kind::kAblateDirection) {
      at::Tensor d = iv.direction.to(device, at::kFloat).flatten();
      r.direction = d / d.norm();
    }
    for (int layer : iv.layers) mlp_by_layer_[layer].push_back(r);
  }
}

at::Tensor ForwardContext::Pack(const at::Tensor& padded) const {
  std::vector<int64_t> shape(padded.sizes().begin() + 1, padded.sizes().end());
  shape[0] = padded.size(0) * padded.size(1);
  at::Tensor flat = padded.reshape(shape);
  return token_index_.defined() ? flat.index_select(0, token_index_) : flat;
}

at::Tensor ForwardContext::Unpack(const at::Tensor& packed) const {
  const int64_t b = batch_.input_ids.size(0), t = batch_.input_ids.size(1);
  std::vector<int64_t> shape = {b, t};
  shape.insert(shape.end(), packed.sizes().begin() + 1, packed.sizes().end());
  if (!token_index_.defined()) return packed.reshape(shape);
  std::vector<int64_t> flat_shape(shape.begin() + 1, shape.end());
  flat_shape[0] = b * t;
  // index_put_ rather than index_copy_: 10× faster on the CPU for [N,3·D] rows.
  return at::zeros(flat_shape, packed.options()).index_put_({token_index_}, packed).view(shape);
}

bool ForwardContext::CapturesDone(int layer, Stage stage) const {
  if (!options_.stop_after_captures || layer < last_captured_layer_) return false;
  if (layer > last_captured_layer_ || stage == Stage::kEndOfLayer) return true;
  // The last captured layer, after attention: done unless a later point of the layer is wanted.
  for (CapturePoint p : {CapturePoint::kAttnOut, CapturePoint::kMlpIn, CapturePoint::kMlpOut,
                         CapturePoint::kMlpInGrad, CapturePoint::kHiddenOut}) {
    if (options_.capture.Wants(p)) return false;
  }
  return true;
}

LayerRecorder ForwardContext::BeginLayer(int layer) const {
  LayerRecorder rec(layer, options_.capture, *this);
  for (const auto& r : attention_by_layer_[layer]) rec.attention_interventions.push_back(&r);
  for (const auto& r : mlp_by_layer_[layer]) rec.mlp_interventions.push_back(&r);
  return rec;
}

Status ForwardContext::EndLayer(LayerRecorder& recorder, const LayerVisitor& visitor) const {
  if (!visitor) return OkStatus();
  const LayerCapture& capture = recorder.capture();
  bool any = false;
  for (const auto& t : capture.tensors) any = any || t.defined();
  if (!any) return OkStatus();
  return visitor(capture);
}

at::Tensor ApplyMlpInterventions(const LayerRecorder& recorder, at::Tensor mlp_out) {
  for (const ResolvedMlpIntervention* iv : recorder.mlp_interventions) {
    at::Tensor out_f = mlp_out.to(at::kFloat);
    at::Tensor changed;
    if (iv->kind == MlpIntervention::Kind::kScale) {
      changed = out_f * iv->scale;
    } else {
      at::Tensor coef = at::matmul(out_f, iv->direction).unsqueeze(-1);  // [B,T,1]
      changed = out_f - coef * iv->direction;
    }
    mlp_out = at::where(iv->token_mask, changed, out_f).to(mlp_out.scalar_type());
  }
  return mlp_out;
}

}  // namespace sinkscope::models::blocks
