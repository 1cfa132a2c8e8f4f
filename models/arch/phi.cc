// Phi (PhiForCausalLM): Phi-1, Phi-1.5, Phi-2.
//
// Reference: transformers 4.57.6, models/phi/modeling_phi.py. One LayerNorm feeds attention and
// MLP in parallel: h = attn(ln(h)) + mlp(ln(h)) + h; q/k/v/dense with biases; partial rotary on the
// first int(head_dim · partial_rotary_factor) channels; final_layernorm; LM head with bias.
// Not supported (error at load): qk_layernorm = true.
#include <cmath>

#include <fmt/format.h>

#include "models/arch/arch_internal.h"
#include "models/blocks/attention.h"
#include "models/blocks/forward_context.h"
#include "models/blocks/mlp.h"
#include "models/blocks/norms.h"
#include "models/blocks/rotary.h"
#include "models/weights.h"

namespace sinkscope::models {
namespace {

struct PhiConfig {
  ModelInfo info;
  int64_t intermediate_size = 0;
  double layer_norm_eps = 1e-5;
  bool tie_word_embeddings = false;
  int64_t embedding_padding_idx = -1;  ///< see LlamaConfig::embedding_padding_idx
  blocks::Activation hidden_act = blocks::Activation::kGeluNew;
  blocks::RopeConfig rope;
};

StatusOr<PhiConfig> ParsePhiConfig(const nlohmann::json& json, const std::string& source) {
  formats::ConfigReader r(json, source);
  PhiConfig c;
  c.info.model_type = "phi";
  c.info.architecture = "phi";
  c.info.causal = true;
  c.info.has_lm_head = true;
  ReadCommonSizes(r, {.kv_heads = "num_key_value_heads"}, c.info);
  c.intermediate_size = r.RequireInt("intermediate_size");
  r.RequirePositive("intermediate_size", c.intermediate_size);
  c.layer_norm_eps = r.Double("layer_norm_eps", 1e-5);
  c.tie_word_embeddings = r.Bool("tie_word_embeddings", false);
  c.info.pad_token_id = r.Int("pad_token_id", 0);
  c.embedding_padding_idx = EmbeddingPaddingIdx(r.OptionalInt("pad_token_id"), c.info.vocab_size);
  if (r.Bool("qk_layernorm", false)) r.Fail("qk_layernorm", "= true is not supported");
  const double factor = r.Double("partial_rotary_factor", 0.5);
  if (!(factor > 0.0 && factor <= 1.0)) {
    r.Fail("partial_rotary_factor", fmt::format("must be in (0, 1], got {}", factor));
  }
  const double theta = r.Double("rope_theta", 10000.0);
  const std::string act = r.String("hidden_act", "gelu_new");
  const nlohmann::json& rope_scaling = r.Raw("rope_scaling");
  RETURN_IF_ERROR(r.status());
  ASSIGN_OR_RETURN(c.hidden_act, blocks::ParseActivation(act, "hidden_act"));
  const auto rotary_dim = static_cast<int64_t>(c.info.head_dim * factor);
  ASSIGN_OR_RETURN(c.rope, blocks::ParseRopeScaling(rope_scaling, rotary_dim, theta));
  AddUnusedKeyWarnings(r, c.info);
  return c;
}

WeightManifest PhiManifest(const PhiConfig& c) {
  const int64_t d = c.info.hidden_size, ff = c.intermediate_size, v = c.info.vocab_size;
  const int64_t q = c.info.num_heads * c.info.head_dim, kv = c.info.num_kv_heads * c.info.head_dim;
  WeightManifest m = {{"embed_tokens.weight", {v, d}}};
  for (int l = 0; l < c.info.num_layers; ++l) {
    const std::string p = fmt::format("layers.{}.", l);
    m.push_back({p + "input_layernorm.weight", {d}});
    m.push_back({p + "input_layernorm.bias", {d}});
    m.push_back({p + "self_attn.q_proj.weight", {q, d}});
    m.push_back({p + "self_attn.q_proj.bias", {q}});
    m.push_back({p + "self_attn.k_proj.weight", {kv, d}});
    m.push_back({p + "self_attn.k_proj.bias", {kv}});
    m.push_back({p + "self_attn.v_proj.weight", {kv, d}});
    m.push_back({p + "self_attn.v_proj.bias", {kv}});
    m.push_back({p + "self_attn.dense.weight", {d, q}});
    m.push_back({p + "self_attn.dense.bias", {d}});
    m.push_back({p + "mlp.fc1.weight", {ff, d}});
    m.push_back({p + "mlp.fc1.bias", {ff}});
    m.push_back({p + "mlp.fc2.weight", {d, ff}});
    m.push_back({p + "mlp.fc2.bias", {d}});
  }
  m.push_back({"final_layernorm.weight", {d}});
  m.push_back({"final_layernorm.bias", {d}});
  WeightSpec head{"lm_head.weight", {v, d}};
  head.absolute = true;
  if (c.tie_word_embeddings) head.tied_to = "embed_tokens.weight";
  m.push_back(head);
  WeightSpec head_bias{"lm_head.bias", {v}};
  head_bias.absolute = true;
  head_bias.required = false;
  m.push_back(head_bias);
  return m;
}

class PhiModel final : public Model {
 public:
  PhiModel(PhiConfig config, Weights weights)
      : Model(config.info),
        config_(std::move(config)),
        w_(std::move(weights)),
        rotary_(config_.rope) {
    parameters_ = w_.parameters();
    qkv_ = FuseLayerProjections(w_, info_.num_layers, "layers.{}.self_attn.",
                                {"q_proj", "k_proj", "v_proj"});
    for (int l = 0; l < info_.num_layers; ++l) {
      const std::string p = fmt::format("layers.{}.", l);
      layers_.push_back({TakeLinear(w_, p + "self_attn.dense"), TakeLinear(w_, p + "mlp.fc1"),
                         TakeLinear(w_, p + "mlp.fc2")});
    }
  }

 protected:
  StatusOr<ForwardResult> RunForward(const Batch& batch, const ForwardOptions& options,
                                     const LayerVisitor& visitor) override {
    blocks::ForwardContext ctx(batch, options, info_);
    const int64_t h_q = info_.num_heads, h_kv = info_.num_kv_heads, hd = info_.head_dim;
    const double eps = config_.layer_norm_eps;
    // Real tokens only, packed [N,D] (ForwardContext: token layout).
    at::Tensor h = at::embedding(w_.Get("embed_tokens.weight"), ctx.Pack(batch.input_ids),
                                 config_.embedding_padding_idx);
    blocks::CosSin cs = rotary_.Compute(ctx.position_ids(), h.scalar_type());
    for (int l = 0; l < info_.num_layers; ++l) {
      const std::string p = fmt::format("layers.{}.", l);
      auto W = [&](const char* name) -> const at::Tensor& { return w_.Get(p + name); };
      const Layer& layer = layers_[l];
      blocks::LayerRecorder rec = ctx.BeginLayer(l);
      rec.CaptureTokens(CapturePoint::kHiddenIn, h);

      at::Tensor x =
          blocks::LayerNorm(h, W("input_layernorm.weight"), W("input_layernorm.bias"), eps);
      auto qkv = qkv_[l].Split(ctx.Unpack(qkv_[l].Joint(x)));  // [B,T,·] each
      at::Tensor q = blocks::SplitHeads(qkv[0], h_q, hd);
      at::Tensor k = blocks::SplitHeads(qkv[1], h_kv, hd);
      at::Tensor v = blocks::SplitHeads(qkv[2], h_kv, hd);
      q = rotary_.Apply(q, cs);
      k = rotary_.Apply(k, cs);
      at::Tensor out =
          blocks::Attend(q, k, v, {.factor = std::pow(double(hd), -0.5)}, ctx.mask(), rec);
      if (ctx.CapturesDone(l, blocks::ForwardContext::Stage::kAfterAttention)) {
        RETURN_IF_ERROR(ctx.EndLayer(rec, visitor));
        return ForwardResult{};
      }
      at::Tensor attn_out = layer.dense(ctx.Pack(blocks::MergeHeads(out)));
      rec.CaptureTokens(CapturePoint::kAttnOut, attn_out);

      rec.CaptureTokens(CapturePoint::kMlpIn, x);
      if (rec.Wants(CapturePoint::kMlpInGrad)) {
        rec.CaptureTokens(CapturePoint::kMlpInGrad,
                          blocks::MlpInputGradient(x, [&](const at::Tensor& in) {
                            return blocks::DenseMlp(in, layer.fc1, layer.fc2, config_.hidden_act);
                          }));
      }
      at::Tensor mlp = blocks::DenseMlp(x, layer.fc1, layer.fc2, config_.hidden_act);
      mlp = blocks::ApplyMlpInterventions(rec, mlp);
      rec.CaptureTokens(CapturePoint::kMlpOut, mlp);
      h = attn_out + mlp + h;
      rec.CaptureTokens(CapturePoint::kHiddenOut, h);
      RETURN_IF_ERROR(ctx.EndLayer(rec, visitor));
      if (ctx.CapturesDone(l, blocks::ForwardContext::Stage::kEndOfLayer)) return ForwardResult{};
    }
    ForwardResult result;
    at::Tensor final_hidden =
        blocks::LayerNorm(h, w_.Get("final_layernorm.weight"), w_.Get("final_layernorm.bias"), eps);
    result.final_hidden = ctx.Unpack(final_hidden);
    if (options.compute_logits) {
      result.logits = ctx.Unpack(
          blocks::LinearOp(final_hidden, w_.Get("lm_head.weight"), w_.Get("lm_head.bias"))
              .to(at::kFloat));
    }
    return result;
  }

 private:
  PhiConfig config_;
  Weights w_;
  blocks::RotaryEmbedding rotary_;
  struct Layer {
    blocks::Linear dense, fc1, fc2;
  };
  std::vector<blocks::FusedLinear> qkv_;  ///< per layer: q|k|v projections in one product
  std::vector<Layer> layers_;
};

}  // namespace

StatusOr<std::unique_ptr<Model>> CreatePhiModel(ArchInputs in) {
  ASSIGN_OR_RETURN(PhiConfig config, ParsePhiConfig(in.config, in.source));
  ASSIGN_OR_RETURN(Weights weights,
                   Weights::Load(std::move(in.tensors), PhiManifest(config), {"model.", ""},
                                 in.options, &config.info.load_warnings));
  return std::unique_ptr<Model>(std::make_unique<PhiModel>(std::move(config), std::move(weights)));
}

}  // namespace sinkscope::models
