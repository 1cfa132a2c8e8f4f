// GPT-2 (GPT2LMHeadModel / GPT2Model).
//
// Reference: transformers 4.57.6, models/gpt2/modeling_gpt2.py. Pre-LayerNorm decoder with learned
// absolute positions; attention and MLP projections are Conv1D modules whose weights are stored
// [in, out] and applied as addmm(bias, x, W). Scores are divided by sqrt(head_dim) (and by
// layer_idx + 1 with scale_attn_by_inverse_layer_idx). The LM head is tied to wte.
// Deviation: reorder_and_upcast_attn only changes fp16 rounding in HF and is ignored here.
#include <cmath>

#include <fmt/format.h>

#include "models/arch/arch_internal.h"
#include "models/blocks/attention.h"
#include "models/blocks/forward_context.h"
#include "models/blocks/mlp.h"
#include "models/blocks/norms.h"
#include "models/weights.h"

namespace sinkscope::models {
namespace {

struct Gpt2Config {
  ModelInfo info;
  int64_t n_inner = 0;
  double layer_norm_epsilon = 1e-5;
  bool scale_attn_weights = true;
  bool scale_attn_by_inverse_layer_idx = false;
  blocks::Activation activation = blocks::Activation::kGeluNew;
};

StatusOr<Gpt2Config> ParseGpt2Config(const nlohmann::json& json, const std::string& source) {
  formats::ConfigReader r(json, source);
  Gpt2Config c;
  c.info.model_type = "gpt2";
  c.info.architecture = "gpt2";
  c.info.causal = true;
  c.info.has_lm_head = true;
  ReadCommonSizes(
      r, {.hidden = "n_embd", .layers = "n_layer", .heads = "n_head", .positions = "n_positions"},
      c.info);
  c.n_inner = r.Int("n_inner", 4 * int64_t{c.info.hidden_size});
  r.RequirePositive("n_inner", c.n_inner);
  c.layer_norm_epsilon = r.Double("layer_norm_epsilon", 1e-5);
  c.scale_attn_weights = r.Bool("scale_attn_weights", true);
  c.scale_attn_by_inverse_layer_idx = r.Bool("scale_attn_by_inverse_layer_idx", false);
  r.Bool("reorder_and_upcast_attn", false);
  if (r.Bool("add_cross_attention", false)) {
    r.Fail("add_cross_attention", "= true (encoder-decoder GPT-2) is not supported");
  }
  c.info.pad_token_id = r.Int("pad_token_id", 0);
  const std::string act = r.String("activation_function", "gelu_new");
  RETURN_IF_ERROR(r.status());
  ASSIGN_OR_RETURN(c.activation, blocks::ParseActivation(act, "activation_function"));
  AddUnusedKeyWarnings(r, c.info);
  return c;
}

WeightManifest Gpt2Manifest(const Gpt2Config& c) {
  const int64_t d = c.info.hidden_size, ff = c.n_inner;
  WeightManifest m = {{"wte.weight", {c.info.vocab_size, d}},
                      {"wpe.weight", {c.info.max_positions, d}}};
  for (int l = 0; l < c.info.num_layers; ++l) {
    const std::string p = fmt::format("h.{}.", l);
    m.push_back({p + "ln_1.weight", {d}});
    m.push_back({p + "ln_1.bias", {d}});
    m.push_back({p + "attn.c_attn.weight", {d, 3 * d}});
    m.push_back({p + "attn.c_attn.bias", {3 * d}});
    m.push_back({p + "attn.c_proj.weight", {d, d}});
    m.push_back({p + "attn.c_proj.bias", {d}});
    m.push_back({p + "ln_2.weight", {d}});
    m.push_back({p + "ln_2.bias", {d}});
    m.push_back({p + "mlp.c_fc.weight", {d, ff}});
    m.push_back({p + "mlp.c_fc.bias", {ff}});
    m.push_back({p + "mlp.c_proj.weight", {ff, d}});
    m.push_back({p + "mlp.c_proj.bias", {d}});
  }
  m.push_back({"ln_f.weight", {d}});
  m.push_back({"ln_f.bias", {d}});
  WeightSpec head{"lm_head.weight", {c.info.vocab_size, d}};
  head.absolute = true;
  head.tied_to = "wte.weight";
  m.push_back(head);
  return m;
}

class Gpt2Model final : public Model {
 public:
  Gpt2Model(Gpt2Config config, Weights weights)
      : Model(config.info), config_(std::move(config)), w_(std::move(weights)) {
    parameters_ = w_.parameters();
    // transformers Conv1D stores weights as [in,out] (addmm(bias, x, W)); TakeLinear transposes.
    for (int l = 0; l < info_.num_layers; ++l) {
      const std::string p = fmt::format("h.{}.", l);
      layers_.push_back({TakeLinear(w_, p + "attn.c_attn", /*stored_in_out=*/true),
                         TakeLinear(w_, p + "attn.c_proj", /*stored_in_out=*/true),
                         TakeLinear(w_, p + "mlp.c_fc", /*stored_in_out=*/true),
                         TakeLinear(w_, p + "mlp.c_proj", /*stored_in_out=*/true)});
    }
  }

 protected:
  StatusOr<ForwardResult> RunForward(const Batch& batch, const ForwardOptions& options,
                                     const LayerVisitor& visitor) override {
    blocks::ForwardContext ctx(batch, options, info_);
    const int64_t heads = info_.num_heads, hd = info_.head_dim, d = info_.hidden_size;
    const double eps = config_.layer_norm_epsilon;
    // Real tokens only, packed [N,D] (ForwardContext: token layout).
    at::Tensor h = at::embedding(w_.Get("wte.weight"), ctx.Pack(batch.input_ids)) +
                   at::embedding(w_.Get("wpe.weight"), ctx.Pack(ctx.position_ids()));
    for (int l = 0; l < info_.num_layers; ++l) {
      const std::string p = fmt::format("h.{}.", l);
      auto W = [&](const char* name) -> const at::Tensor& { return w_.Get(p + name); };
      const Layer& layer = layers_[l];
      blocks::LayerRecorder rec = ctx.BeginLayer(l);
      rec.CaptureTokens(CapturePoint::kHiddenIn, h);

      at::Tensor x = blocks::LayerNorm(h, W("ln_1.weight"), W("ln_1.bias"), eps);
      at::Tensor qkv = ctx.Unpack(layer.c_attn(x));  // [B,T,3D]
      auto parts = qkv.split(d, -1);
      double divisor = config_.scale_attn_weights ? std::sqrt(double(hd)) : 1.0;
      if (config_.scale_attn_by_inverse_layer_idx) divisor *= double(l + 1);
      at::Tensor out = blocks::Attend(
          blocks::SplitHeads(parts[0], heads, hd), blocks::SplitHeads(parts[1], heads, hd),
          blocks::SplitHeads(parts[2], heads, hd), {.divisor = divisor}, ctx.mask(), rec);
      if (ctx.CapturesDone(l, blocks::ForwardContext::Stage::kAfterAttention)) {
        RETURN_IF_ERROR(ctx.EndLayer(rec, visitor));
        return ForwardResult{};
      }
      at::Tensor attn_out = layer.attn_c_proj(ctx.Pack(blocks::MergeHeads(out)));
      rec.CaptureTokens(CapturePoint::kAttnOut, attn_out);
      h = h + attn_out;

      x = blocks::LayerNorm(h, W("ln_2.weight"), W("ln_2.bias"), eps);
      rec.CaptureTokens(CapturePoint::kMlpIn, x);
      if (rec.Wants(CapturePoint::kMlpInGrad)) {
        rec.CaptureTokens(
            CapturePoint::kMlpInGrad, blocks::MlpInputGradient(x, [&](const at::Tensor& in) {
              return blocks::DenseMlp(in, layer.c_fc, layer.mlp_c_proj, config_.activation);
            }));
      }
      at::Tensor mlp = blocks::DenseMlp(x, layer.c_fc, layer.mlp_c_proj, config_.activation);
      mlp = blocks::ApplyMlpInterventions(rec, mlp);
      rec.CaptureTokens(CapturePoint::kMlpOut, mlp);
      h = h + mlp;
      rec.CaptureTokens(CapturePoint::kHiddenOut, h);
      RETURN_IF_ERROR(ctx.EndLayer(rec, visitor));
      if (ctx.CapturesDone(l, blocks::ForwardContext::Stage::kEndOfLayer)) return ForwardResult{};
    }
    ForwardResult result;
    at::Tensor final_hidden = blocks::LayerNorm(h, w_.Get("ln_f.weight"), w_.Get("ln_f.bias"), eps);
    result.final_hidden = ctx.Unpack(final_hidden);
    if (options.compute_logits) {
      result.logits =
          ctx.Unpack(blocks::LinearOp(final_hidden, w_.Get("lm_head.weight")).to(at::kFloat));
    }
    return result;
  }

 private:
  struct Layer {
    blocks::Linear c_attn, attn_c_proj, c_fc, mlp_c_proj;
  };
  Gpt2Config config_;
  Weights w_;
  std::vector<Layer> layers_;
};

}  // namespace

StatusOr<std::unique_ptr<Model>> CreateGpt2Model(ArchInputs in) {
  ASSIGN_OR_RETURN(Gpt2Config config, ParseGpt2Config(in.config, in.source));
  ASSIGN_OR_RETURN(Weights weights,
                   Weights::Load(std::move(in.tensors), Gpt2Manifest(config), {"transformer.", ""},
                                 in.options, &config.info.load_warnings));
  return std::unique_ptr<Model>(std::make_unique<Gpt2Model>(std::move(config), std::move(weights)));
}

}  // namespace sinkscope::models
