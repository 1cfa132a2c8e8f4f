// GPT-NeoX (GPTNeoXForCausalLM): Pythia.
//
// Reference: transformers 4.57.6, models/gpt_neox/modeling_gpt_neox.py. Pre-LayerNorm decoder,
// fused query_key_value laid out per head as [q | k | v] (view(B,T,H,3·hd) then chunk), partial
// rotary on the first int(head_dim · rotary_pct) channels, and with use_parallel_residual
// x + attn(ln1(x)) + mlp(ln2(x)) instead of the sequential form. Untied embed_out head.
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

struct GptNeoXConfig {
  ModelInfo info;
  int64_t intermediate_size = 0;
  double layer_norm_eps = 1e-5;
  bool use_parallel_residual = true;
  bool attention_bias = true;
  bool tie_word_embeddings = false;
  blocks::Activation hidden_act = blocks::Activation::kGeluErf;
  blocks::RopeConfig rope;
};

StatusOr<GptNeoXConfig> ParseGptNeoXConfig(const nlohmann::json& json, const std::string& source) {
  formats::ConfigReader r(json, source);
  GptNeoXConfig c;
  c.info.model_type = "gpt_neox";
  c.info.architecture = "gpt_neox";
  c.info.causal = true;
  c.info.has_lm_head = true;
  ReadCommonSizes(r, {}, c.info);
  c.intermediate_size = r.RequireInt("intermediate_size");
  r.RequirePositive("intermediate_size", c.intermediate_size);
  c.layer_norm_eps = r.Double("layer_norm_eps", 1e-5);
  c.use_parallel_residual = r.Bool("use_parallel_residual", true);
  c.attention_bias = r.Bool("attention_bias", true);
  c.tie_word_embeddings = r.Bool("tie_word_embeddings", false);
  c.info.pad_token_id = r.Int("pad_token_id", 0);
  const double rotary_pct = r.Double("rotary_pct", r.Double("partial_rotary_factor", 0.25));
  if (!(rotary_pct > 0.0 && rotary_pct <= 1.0)) {
    r.Fail("rotary_pct", fmt::format("must be in (0, 1], got {}", rotary_pct));
  }
  const double base = r.Double("rotary_emb_base", 10000.0);
  const double theta = r.Double("rope_theta", base);
  const std::string act = r.String("hidden_act", "gelu");
  const nlohmann::json& rope_scaling = r.Raw("rope_scaling");
  RETURN_IF_ERROR(r.status());
  ASSIGN_OR_RETURN(c.hidden_act, blocks::ParseActivation(act, "hidden_act"));
  const auto rotary_dim = static_cast<int64_t>(c.info.head_dim * rotary_pct);
  ASSIGN_OR_RETURN(c.rope, blocks::ParseRopeScaling(rope_scaling, rotary_dim, theta));
  AddUnusedKeyWarnings(r, c.info);
  return c;
}

WeightManifest GptNeoXManifest(const GptNeoXConfig& c) {
  const int64_t d = c.info.hidden_size, ff = c.intermediate_size, v = c.info.vocab_size;
  WeightManifest m = {{"embed_in.weight", {v, d}}};
  for (int l = 0; l < c.info.num_layers; ++l) {
    const std::string p = fmt::format("layers.{}.", l);
    for (const char* ln : {"input_layernorm", "post_attention_layernorm"}) {
      m.push_back({p + ln + ".weight", {d}});
      m.push_back({p + ln + ".bias", {d}});
    }
    m.push_back({p + "attention.query_key_value.weight", {3 * d, d}});
    m.push_back({p + "attention.dense.weight", {d, d}});
    if (c.attention_bias) {
      m.push_back({p + "attention.query_key_value.bias", {3 * d}});
      m.push_back({p + "attention.dense.bias", {d}});
    }
    m.push_back({p + "mlp.dense_h_to_4h.weight", {ff, d}});
    m.push_back({p + "mlp.dense_h_to_4h.bias", {ff}});
    m.push_back({p + "mlp.dense_4h_to_h.weight", {d, ff}});
    m.push_back({p + "mlp.dense_4h_to_h.bias", {d}});
  }
  m.push_back({"final_layer_norm.weight", {d}});
  m.push_back({"final_layer_norm.bias", {d}});
  WeightSpec head{"embed_out.weight", {v, d}};
  head.absolute = true;
  if (c.tie_word_embeddings) head.tied_to = "embed_in.weight";
  m.push_back(head);
  return m;
}

class GptNeoXModel final : public Model {
 public:
  GptNeoXModel(GptNeoXConfig config, Weights weights)
      : Model(config.info),
        config_(std::move(config)),
        w_(std::move(weights)),
        rotary_(config_.rope) {
    parameters_ = w_.parameters();
    for (int l = 0; l < info_.num_layers; ++l) {
      const std::string p = fmt::format("layers.{}.", l);
      layers_.push_back(
          {TakeLinear(w_, p + "attention.query_key_value"), TakeLinear(w_, p + "attention.dense"),
           TakeLinear(w_, p + "mlp.dense_h_to_4h"), TakeLinear(w_, p + "mlp.dense_4h_to_h")});
    }
  }

 protected:
  StatusOr<ForwardResult> RunForward(const Batch& batch, const ForwardOptions& options,
                                     const LayerVisitor& visitor) override {
    blocks::ForwardContext ctx(batch, options, info_);
    const int64_t heads = info_.num_heads, hd = info_.head_dim;
    const double eps = config_.layer_norm_eps;
    // Real tokens only, packed [N,D] (ForwardContext: token layout).
    at::Tensor h = at::embedding(w_.Get("embed_in.weight"), ctx.Pack(batch.input_ids));
    blocks::CosSin cs = rotary_.Compute(ctx.position_ids(), h.scalar_type());
    for (int l = 0; l < info_.num_layers; ++l) {
      const std::string p = fmt::format("layers.{}.", l);
      auto W = [&](const char* name) -> const at::Tensor& { return w_.Get(p + name); };
      const Layer& layer = layers_[l];
      blocks::LayerRecorder rec = ctx.BeginLayer(l);
      rec.CaptureTokens(CapturePoint::kHiddenIn, h);

      at::Tensor x =
          blocks::LayerNorm(h, W("input_layernorm.weight"), W("input_layernorm.bias"), eps);
      at::Tensor qkv = ctx.Unpack(layer.query_key_value(x));  // [B,T,H·3·hd]
      // [B,T,H,3·hd] → [B,H,T,3·hd] → q, k, v per head.
      qkv = qkv.view({qkv.size(0), qkv.size(1), heads, 3 * hd}).transpose(1, 2);
      auto parts = qkv.chunk(3, -1);
      at::Tensor q = rotary_.Apply(parts[0], cs);
      at::Tensor k = rotary_.Apply(parts[1], cs);
      at::Tensor out =
          blocks::Attend(q, k, parts[2], {.factor = std::pow(double(hd), -0.5)}, ctx.mask(), rec);
      if (ctx.CapturesDone(l, blocks::ForwardContext::Stage::kAfterAttention)) {
        RETURN_IF_ERROR(ctx.EndLayer(rec, visitor));
        return ForwardResult{};
      }
      at::Tensor attn_out = layer.dense(ctx.Pack(blocks::MergeHeads(out)));
      rec.CaptureTokens(CapturePoint::kAttnOut, attn_out);

      at::Tensor mlp_residual = config_.use_parallel_residual ? h : h + attn_out;
      x = blocks::LayerNorm(mlp_residual, W("post_attention_layernorm.weight"),
                            W("post_attention_layernorm.bias"), eps);
      rec.CaptureTokens(CapturePoint::kMlpIn, x);
      if (rec.Wants(CapturePoint::kMlpInGrad)) {
        rec.CaptureTokens(CapturePoint::kMlpInGrad,
                          blocks::MlpInputGradient(x, [&](const at::Tensor& in) {
                            return blocks::DenseMlp(in, layer.dense_h_to_4h, layer.dense_4h_to_h,
                                                    config_.hidden_act);
                          }));
      }
      at::Tensor mlp =
          blocks::DenseMlp(x, layer.dense_h_to_4h, layer.dense_4h_to_h, config_.hidden_act);
      mlp = blocks::ApplyMlpInterventions(rec, mlp);
      rec.CaptureTokens(CapturePoint::kMlpOut, mlp);
      // HF order: parallel → mlp + attn + h; sequential → mlp + (attn + h).
      h = config_.use_parallel_residual ? mlp + attn_out + h : mlp + mlp_residual;
      rec.CaptureTokens(CapturePoint::kHiddenOut, h);
      RETURN_IF_ERROR(ctx.EndLayer(rec, visitor));
      if (ctx.CapturesDone(l, blocks::ForwardContext::Stage::kEndOfLayer)) return ForwardResult{};
    }
    ForwardResult result;
    at::Tensor final_hidden = blocks::LayerNorm(h, w_.Get("final_layer_norm.weight"),
                                                w_.Get("final_layer_norm.bias"), eps);
    result.final_hidden = ctx.Unpack(final_hidden);
    if (options.compute_logits) {
      result.logits =
          ctx.Unpack(blocks::LinearOp(final_hidden, w_.Get("embed_out.weight")).to(at::kFloat));
    }
    return result;
  }

 private:
  struct Layer {
    blocks::Linear query_key_value, dense, dense_h_to_4h, dense_4h_to_h;
  };
  GptNeoXConfig config_;
  Weights w_;
  blocks::RotaryEmbedding rotary_;
  std::vector<Layer> layers_;
};

}  // namespace

StatusOr<std::unique_ptr<Model>> CreateGptNeoXModel(ArchInputs in) {
  ASSIGN_OR_RETURN(GptNeoXConfig config, ParseGptNeoXConfig(in.config, in.source));
  ASSIGN_OR_RETURN(Weights weights,
                   Weights::Load(std::move(in.tensors), GptNeoXManifest(config), {"gpt_neox.", ""},
                                 in.options, &config.info.load_warnings));
  return std::unique_ptr<Model>(
      std::make_unique<GptNeoXModel>(std::move(config), std::move(weights)));
}

}  // namespace sinkscope::models
