// LLaMA family: LlamaForCausalLM (LLaMA 1/2/3, SmolLM), MistralForCausalLM, Qwen2ForCausalLM.
//
// Reference: transformers 4.57.6, models/llama/modeling_llama.py,
// models/mistral/modeling_mistral.py, models/qwen2/modeling_qwen2.py. Pre-norm decoder: h +=
// o_proj(attn(rms(h))); h += mlp(rms(h)), SwiGLU MLP, rotary embeddings (default / linear / llama3
// scaling), grouped-query attention. Deviations that matter here: Qwen2 has q/k/v biases (always;
// `attention_bias` for LLaMA); Mistral/Qwen2 sliding windows are applied by HF only when the input
// is longer than the window: we reject configs whose window is shorter than max_position_embeddings
// instead of guessing.
#include <cmath>

#include <fmt/format.h>

#include "models/arch/arch_internal.h"
#include "models/arch/llama_internal.h"
#include "models/blocks/attention.h"
#include "models/blocks/forward_context.h"
#include "models/blocks/mlp.h"
#include "models/blocks/norms.h"
#include "models/blocks/rotary.h"
#include "models/weights.h"

namespace sinkscope::models {
namespace {

StatusOr<LlamaConfig> ParseLlamaConfig(const nlohmann::json& json, const std::string& source) {
  formats::ConfigReader r(json, source);
  LlamaConfig c;
  c.info.model_type = r.String("model_type", "llama");
  c.info.architecture = "llama";
  c.info.causal = true;
  c.info.has_lm_head = true;
  ReadCommonSizes(r, {.kv_heads = "num_key_value_heads", .head_dim = "head_dim"}, c.info);
  c.intermediate_size = r.RequireInt("intermediate_size");
  r.RequirePositive("intermediate_size", c.intermediate_size);
  c.rms_norm_eps = r.Double("rms_norm_eps", 1e-6);
  c.attention_bias = r.Bool("attention_bias", c.info.model_type == "qwen2");
  if (r.Bool("mlp_bias", false)) r.Fail("mlp_bias", "= true is not supported");
  c.tie_word_embeddings = r.Bool("tie_word_embeddings", false);
  c.info.pad_token_id = r.Int("pad_token_id", 0);
  c.embedding_padding_idx = EmbeddingPaddingIdx(r.OptionalInt("pad_token_id"), c.info.vocab_size);
  const double theta = r.Double("rope_theta", 10000.0);
  const bool sliding = r.Bool("use_sliding_window", c.info.model_type == "mistral");
  if (auto window = r.OptionalInt("sliding_window"); window && sliding) {
    if (*window < c.info.max_positions) {
      r.Fail("sliding_window", fmt::format("= {} is shorter than max_position_embeddings = {}; "
                                           "sliding-window attention is not implemented",
                                           *window, c.info.max_positions));
    }
  }
  r.Int("max_window_layers", 0);
  const std::string act = r.String("hidden_act", "silu");
  const nlohmann::json& rope_scaling = r.Raw("rope_scaling");
  RETURN_IF_ERROR(r.status());
  ASSIGN_OR_RETURN(c.hidden_act, blocks::ParseActivation(act, "hidden_act"));
  ASSIGN_OR_RETURN(c.rope, blocks::ParseRopeScaling(rope_scaling, c.info.head_dim, theta));
  AddUnusedKeyWarnings(r, c.info);
  return c;
}

WeightManifest LlamaManifest(const LlamaConfig& c) {
  const int64_t d = c.info.hidden_size, hd = c.info.head_dim;
  const int64_t q = c.info.num_heads * hd, kv = c.info.num_kv_heads * hd;
  const int64_t ff = c.intermediate_size, v = c.info.vocab_size;
  WeightManifest m = {{"embed_tokens.weight", {v, d}}};
  for (int l = 0; l < c.info.num_layers; ++l) {
    const std::string p = fmt::format("layers.{}.", l);
    m.push_back({p + "input_layernorm.weight", {d}});
    m.push_back({p + "self_attn.q_proj.weight", {q, d}});
    m.push_back({p + "self_attn.k_proj.weight", {kv, d}});
    m.push_back({p + "self_attn.v_proj.weight", {kv, d}});
    if (c.attention_bias) {
      m.push_back({p + "self_attn.q_proj.bias", {q}});
      m.push_back({p + "self_attn.k_proj.bias", {kv}});
      m.push_back({p + "self_attn.v_proj.bias", {kv}});
    }
    m.push_back({p + "self_attn.o_proj.weight", {d, q}});
    m.push_back({p + "post_attention_layernorm.weight", {d}});
    m.push_back({p + "mlp.gate_proj.weight", {ff, d}});
    m.push_back({p + "mlp.up_proj.weight", {ff, d}});
    m.push_back({p + "mlp.down_proj.weight", {d, ff}});
  }
  m.push_back({"norm.weight", {d}});
  WeightSpec head{"lm_head.weight", {v, d}};
  head.absolute = true;
  if (c.tie_word_embeddings) head.tied_to = "embed_tokens.weight";
  m.push_back(head);
  return m;
}

class LlamaModel final : public Model {
 public:
  LlamaModel(LlamaConfig config, Weights weights)
      : Model(config.info),
        config_(std::move(config)),
        w_(std::move(weights)),
        rotary_(config_.rope) {
    parameters_ = w_.parameters();
    qkv_ = FuseLayerProjections(w_, info_.num_layers, "layers.{}.self_attn.",
                                {"q_proj", "k_proj", "v_proj"});
    gate_up_ =
        FuseLayerProjections(w_, info_.num_layers, "layers.{}.mlp.", {"gate_proj", "up_proj"});
    for (int l = 0; l < info_.num_layers; ++l) {
      const std::string p = fmt::format("layers.{}.", l);
      o_proj_.push_back(TakeLinear(w_, p + "self_attn.o_proj"));
      down_proj_.push_back(TakeLinear(w_, p + "mlp.down_proj"));
    }
  }

 protected:
  StatusOr<ForwardResult> RunForward(const Batch& batch, const ForwardOptions& options,
                                     const LayerVisitor& visitor) override {
    blocks::ForwardContext ctx(batch, options, info_);
    const int64_t h_q = info_.num_heads, h_kv = info_.num_kv_heads, hd = info_.head_dim;
    const double eps = config_.rms_norm_eps;
    const auto rms = config_.norm_kind;
    // Real tokens only, packed [N,D] (ForwardContext: token layout).
    at::Tensor h = at::embedding(w_.Get("embed_tokens.weight"), ctx.Pack(batch.input_ids),
                                 config_.embedding_padding_idx);
    if (config_.scale_embeddings) {
      // Gemma: embeddings * sqrt(hidden_size), the factor rounded to the activations' dtype.
      h = h * at::scalar_tensor(std::sqrt(double(info_.hidden_size)), h.options());
    }
    blocks::CosSin cs = rotary_.Compute(ctx.position_ids(), h.scalar_type());
    for (int l = 0; l < info_.num_layers; ++l) {
      const std::string p = fmt::format("layers.{}.", l);
      auto W = [&](const char* name) -> const at::Tensor& { return w_.Get(p + name); };
      blocks::LayerRecorder rec = ctx.BeginLayer(l);
      rec.CaptureTokens(CapturePoint::kHiddenIn, h);

      at::Tensor x = blocks::RmsNorm(h, W("input_layernorm.weight"), eps, rms);
      auto qkv = qkv_[l].Split(ctx.Unpack(qkv_[l].Joint(x)));  // [B,T,·] each
      at::Tensor q = blocks::SplitHeads(qkv[0], h_q, hd);
      at::Tensor k = blocks::SplitHeads(qkv[1], h_kv, hd);
      at::Tensor v = blocks::SplitHeads(qkv[2], h_kv, hd);
      q = rotary_.Apply(q, cs);
      k = rotary_.Apply(k, cs);
      at::Tensor heads =
          blocks::Attend(q, k, v, {.factor = std::pow(double(hd), -0.5)}, ctx.mask(), rec);
      if (ctx.CapturesDone(l, blocks::ForwardContext::Stage::kAfterAttention)) {
        RETURN_IF_ERROR(ctx.EndLayer(rec, visitor));
        return ForwardResult{};
      }
      at::Tensor attn_out = o_proj_[l](ctx.Pack(blocks::MergeHeads(heads)));
      rec.CaptureTokens(CapturePoint::kAttnOut, attn_out);
      h = h + attn_out;

      x = blocks::RmsNorm(h, W("post_attention_layernorm.weight"), eps, rms);
      rec.CaptureTokens(CapturePoint::kMlpIn, x);
      if (rec.Wants(CapturePoint::kMlpInGrad)) {
        rec.CaptureTokens(
            CapturePoint::kMlpInGrad, blocks::MlpInputGradient(x, [&](const at::Tensor& in) {
              return blocks::GatedMlp(in, gate_up_[l], down_proj_[l], config_.hidden_act);
            }));
      }
      at::Tensor mlp = blocks::GatedMlp(x, gate_up_[l], down_proj_[l], config_.hidden_act);
      mlp = blocks::ApplyMlpInterventions(rec, mlp);
      rec.CaptureTokens(CapturePoint::kMlpOut, mlp);
      h = h + mlp;
      rec.CaptureTokens(CapturePoint::kHiddenOut, h);
      RETURN_IF_ERROR(ctx.EndLayer(rec, visitor));
      if (ctx.CapturesDone(l, blocks::ForwardContext::Stage::kEndOfLayer)) return ForwardResult{};
    }
    ForwardResult result;
    at::Tensor final_hidden = blocks::RmsNorm(h, w_.Get("norm.weight"), eps, rms);
    result.final_hidden = ctx.Unpack(final_hidden);
    if (options.compute_logits) {
      result.logits =
          ctx.Unpack(blocks::LinearOp(final_hidden, w_.Get("lm_head.weight")).to(at::kFloat));
    }
    return result;
  }

 private:
  LlamaConfig config_;
  Weights w_;
  blocks::RotaryEmbedding rotary_;
  std::vector<blocks::FusedLinear> qkv_;      ///< per layer: q|k|v projections in one product
  std::vector<blocks::FusedLinear> gate_up_;  ///< per layer: gate|up projections in one product
  std::vector<blocks::Linear> o_proj_, down_proj_;
};

}  // namespace

StatusOr<std::unique_ptr<Model>> CreateLlamaModel(ArchInputs in) {
  ASSIGN_OR_RETURN(LlamaConfig config, ParseLlamaConfig(in.config, in.source));
  return BuildLlamaFamilyModel(std::move(config), std::move(in));
}

StatusOr<std::unique_ptr<Model>> BuildLlamaFamilyModel(LlamaConfig config, ArchInputs in) {
  ASSIGN_OR_RETURN(Weights weights,
                   Weights::Load(std::move(in.tensors), LlamaManifest(config), {"model.", ""},
                                 in.options, &config.info.load_warnings));
  return std::unique_ptr<Model>(
      std::make_unique<LlamaModel>(std::move(config), std::move(weights)));
}

}  // namespace sinkscope::models
