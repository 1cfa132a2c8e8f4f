// BERT (BertModel; also MiniLM) and RoBERTa / XLM-RoBERTa (RobertaModel, XLMRobertaModel).
//
// Reference: transformers 4.57.6, models/bert/modeling_bert.py and
// models/roberta/modeling_roberta.py. Post-LayerNorm encoder: h = LN(h + dense(attn(h))); h = LN(h
// + down(gelu(up(h)))). Embeddings: word + token_type (all type 0) + absolute position, then
// LayerNorm. Scores are divided by sqrt(head_dim); padding keys are masked, no causal mask.
// RoBERTa's only deviation: position ids start at padding_idx + 1 and skip padding tokens
// (create_position_ids_from_input_ids), so it supports max_position_embeddings − padding_idx − 1
// tokens. Relative position embeddings (position_embedding_type ≠ "absolute") are not supported.
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

struct BertConfig {
  ModelInfo info;
  int64_t intermediate_size = 0;
  int64_t type_vocab_size = 2;
  int64_t max_position_embeddings = 0;
  double layer_norm_eps = 1e-12;
  bool roberta_positions = false;
  blocks::Activation hidden_act = blocks::Activation::kGeluErf;
};

StatusOr<BertConfig> ParseBertConfig(const nlohmann::json& json, const std::string& source) {
  formats::ConfigReader r(json, source);
  BertConfig c;
  c.info.model_type = r.String("model_type", "bert");
  c.info.architecture = "bert";
  c.info.causal = false;
  c.info.has_lm_head = false;
  c.roberta_positions = c.info.model_type != "bert";
  ReadCommonSizes(r, {}, c.info);
  c.max_position_embeddings = c.info.max_positions;
  c.intermediate_size = r.RequireInt("intermediate_size");
  r.RequirePositive("intermediate_size", c.intermediate_size);
  c.type_vocab_size = r.Int("type_vocab_size", 2);
  r.RequirePositive("type_vocab_size", c.type_vocab_size);
  c.layer_norm_eps = r.Double("layer_norm_eps", 1e-12);
  c.info.pad_token_id = r.Int("pad_token_id", c.roberta_positions ? 1 : 0);
  const std::string position_type = r.String("position_embedding_type", "absolute");
  if (position_type != "absolute") {
    r.Fail("position_embedding_type",
           fmt::format("= \"{}\" is not supported (only \"absolute\")", position_type));
  }
  if (c.roberta_positions) {
    // Positions padding_idx+1 … must stay inside the embedding table.
    c.info.max_positions = c.max_position_embeddings - c.info.pad_token_id - 1;
    if (c.info.pad_token_id < 0 || c.info.max_positions <= 0) {
      r.Fail("pad_token_id", fmt::format("= {} leaves no positions in max_position_embeddings = {}",
                                         c.info.pad_token_id, c.max_position_embeddings));
    }
  }
  const std::string act = r.String("hidden_act", "gelu");
  RETURN_IF_ERROR(r.status());
  ASSIGN_OR_RETURN(c.hidden_act, blocks::ParseActivation(act, "hidden_act"));
  AddUnusedKeyWarnings(r, c.info);
  return c;
}

WeightManifest BertManifest(const BertConfig& c) {
  const int64_t d = c.info.hidden_size, ff = c.intermediate_size;
  WeightManifest m = {{"embeddings.word_embeddings.weight", {c.info.vocab_size, d}},
                      {"embeddings.position_embeddings.weight", {c.max_position_embeddings, d}},
                      {"embeddings.token_type_embeddings.weight", {c.type_vocab_size, d}},
                      {"embeddings.LayerNorm.weight", {d}},
                      {"embeddings.LayerNorm.bias", {d}}};
  for (int l = 0; l < c.info.num_layers; ++l) {
    const std::string p = fmt::format("encoder.layer.{}.", l);
    for (const char* proj : {"attention.self.query", "attention.self.key", "attention.self.value",
                             "attention.output.dense"}) {
      m.push_back({p + proj + ".weight", {d, d}});
      m.push_back({p + proj + ".bias", {d}});
    }
    m.push_back({p + "attention.output.LayerNorm.weight", {d}});
    m.push_back({p + "attention.output.LayerNorm.bias", {d}});
    m.push_back({p + "intermediate.dense.weight", {ff, d}});
    m.push_back({p + "intermediate.dense.bias", {ff}});
    m.push_back({p + "output.dense.weight", {d, ff}});
    m.push_back({p + "output.dense.bias", {d}});
    m.push_back({p + "output.LayerNorm.weight", {d}});
    m.push_back({p + "output.LayerNorm.bias", {d}});
  }
  // The pooler is part of BertModel checkpoints but not of the token representations.
  m.push_back({"pooler.dense.weight", {d, d}, /*required=*/false});
  m.push_back({"pooler.dense.bias", {d}, /*required=*/false});
  return m;
}

class BertModel final : public Model {
 public:
  BertModel(BertConfig config, Weights weights)
      : Model(config.info), config_(std::move(config)), w_(std::move(weights)) {
    parameters_ = w_.parameters();
    qkv_ = FuseLayerProjections(w_, info_.num_layers, "encoder.layer.{}.attention.self.",
                                {"query", "key", "value"});
    for (int l = 0; l < info_.num_layers; ++l) {
      const std::string p = fmt::format("encoder.layer.{}.", l);
      layers_.push_back({TakeLinear(w_, p + "attention.output.dense"),
                         TakeLinear(w_, p + "intermediate.dense"),
                         TakeLinear(w_, p + "output.dense")});
    }
  }

 protected:
  StatusOr<ForwardResult> RunForward(const Batch& batch, const ForwardOptions& options,
                                     const LayerVisitor& visitor) override {
    blocks::ForwardContext ctx(batch, options, info_);
    const int64_t heads = info_.num_heads, hd = info_.head_dim;
    const double eps = config_.layer_norm_eps;
    at::Tensor positions = ctx.position_ids();
    if (config_.roberta_positions) {
      const int64_t pad = info_.pad_token_id;
      at::Tensor real = batch.attention_mask.to(at::kLong) * batch.input_ids.ne(pad).to(at::kLong);
      positions = at::cumsum(real, 1) * real + pad;
    }
    // Embeddings of the real tokens only, packed [N,D] (ForwardContext: token layout).
    at::Tensor ids = ctx.Pack(batch.input_ids);
    at::Tensor h =
        at::embedding(w_.Get("embeddings.word_embeddings.weight"), ids) +
        at::embedding(w_.Get("embeddings.token_type_embeddings.weight"), at::zeros_like(ids));
    h = h + at::embedding(w_.Get("embeddings.position_embeddings.weight"), ctx.Pack(positions));
    h = blocks::LayerNorm(h, w_.Get("embeddings.LayerNorm.weight"),
                          w_.Get("embeddings.LayerNorm.bias"), eps);
    const double divisor = std::sqrt(double(hd));
    for (int l = 0; l < info_.num_layers; ++l) {
      const std::string p = fmt::format("encoder.layer.{}.", l);
      auto W = [&](const char* name) -> const at::Tensor& { return w_.Get(p + name); };
      const Layer& layer = layers_[l];
      blocks::LayerRecorder rec = ctx.BeginLayer(l);
      rec.CaptureTokens(CapturePoint::kHiddenIn, h);

      // query | key | value of the real tokens, laid out padded [B,T,D] each for attention.
      auto qkv = qkv_[l].Split(ctx.Unpack(qkv_[l].Joint(h)));
      at::Tensor out = blocks::Attend(
          blocks::SplitHeads(qkv[0], heads, hd), blocks::SplitHeads(qkv[1], heads, hd),
          blocks::SplitHeads(qkv[2], heads, hd), {.divisor = divisor}, ctx.mask(), rec);
      if (ctx.CapturesDone(l, blocks::ForwardContext::Stage::kAfterAttention)) {
        RETURN_IF_ERROR(ctx.EndLayer(rec, visitor));
        return ForwardResult{};
      }
      at::Tensor attn_out = layer.attention_output(ctx.Pack(blocks::MergeHeads(out)));
      rec.CaptureTokens(CapturePoint::kAttnOut, attn_out);
      at::Tensor x = blocks::LayerNorm(attn_out + h, W("attention.output.LayerNorm.weight"),
                                       W("attention.output.LayerNorm.bias"), eps);

      rec.CaptureTokens(CapturePoint::kMlpIn, x);
      if (rec.Wants(CapturePoint::kMlpInGrad)) {
        rec.CaptureTokens(
            CapturePoint::kMlpInGrad, blocks::MlpInputGradient(x, [&](const at::Tensor& in) {
              return blocks::DenseMlp(in, layer.intermediate, layer.output, config_.hidden_act);
            }));
      }
      at::Tensor mlp = blocks::DenseMlp(x, layer.intermediate, layer.output, config_.hidden_act);
      mlp = blocks::ApplyMlpInterventions(rec, mlp);
      rec.CaptureTokens(CapturePoint::kMlpOut, mlp);
      h = blocks::LayerNorm(mlp + x, W("output.LayerNorm.weight"), W("output.LayerNorm.bias"), eps);
      rec.CaptureTokens(CapturePoint::kHiddenOut, h);
      RETURN_IF_ERROR(ctx.EndLayer(rec, visitor));
      if (ctx.CapturesDone(l, blocks::ForwardContext::Stage::kEndOfLayer)) return ForwardResult{};
    }
    ForwardResult result;
    result.final_hidden = ctx.Unpack(h);
    return result;
  }

 private:
  BertConfig config_;
  Weights w_;
  struct Layer {
    blocks::Linear attention_output;  ///< attention.output.dense
    blocks::Linear intermediate;      ///< intermediate.dense (MLP up)
    blocks::Linear output;            ///< output.dense (MLP down)
  };
  std::vector<blocks::FusedLinear> qkv_;  ///< per layer: query|key|value in one product
  std::vector<Layer> layers_;
};

}  // namespace

StatusOr<std::unique_ptr<Model>> CreateBertModel(ArchInputs in) {
  ASSIGN_OR_RETURN(BertConfig config, ParseBertConfig(in.config, in.source));
  ASSIGN_OR_RETURN(Weights weights, Weights::Load(std::move(in.tensors), BertManifest(config),
                                                  {"", "bert.", "roberta."}, in.options,
                                                  &config.info.load_warnings));
  return std::unique_ptr<Model>(std::make_unique<BertModel>(std::move(config), std::move(weights)));
}

}  // namespace sinkscope::models
