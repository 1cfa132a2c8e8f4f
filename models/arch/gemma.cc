// Gemma (GemmaForCausalLM), run by the LLaMA-style decoder with Gemma's deviations.
//
// Reference: transformers 4.57.6, models/gemma/modeling_gemma.py. Deviations from LLaMA:
// RMSNorm scales by (1 + weight) computed in float32; embeddings are multiplied by
// sqrt(hidden_size) rounded to the activations' dtype; GeGLU MLP (hidden_act, default
// gelu_pytorch_tanh); head_dim is explicit (default 256); word embeddings tied by default.
#include "models/arch/llama_internal.h"

namespace sinkscope::models {

namespace {

StatusOr<LlamaConfig> ParseGemmaConfig(const nlohmann::json& json, const std::string& source) {
  formats::ConfigReader r(json, source);
  LlamaConfig c;
  c.info.model_type = "gemma";
  c.info.architecture = "gemma";
  c.info.causal = true;
  c.info.has_lm_head = true;
  ReadCommonSizes(
      r, {.kv_heads = "num_key_value_heads", .head_dim = "head_dim", .default_head_dim = 256},
      c.info);
  c.intermediate_size = r.RequireInt("intermediate_size");
  r.RequirePositive("intermediate_size", c.intermediate_size);
  c.rms_norm_eps = r.Double("rms_norm_eps", 1e-6);
  c.attention_bias = r.Bool("attention_bias", false);
  c.tie_word_embeddings = r.Bool("tie_word_embeddings", true);
  c.info.pad_token_id = r.Int("pad_token_id", 0);
  c.embedding_padding_idx = EmbeddingPaddingIdx(r.OptionalInt("pad_token_id"), c.info.vocab_size);
  c.norm_kind = blocks::RmsNormKind::kScaleByOnePlusWeight;
  c.scale_embeddings = true;
  const double theta = r.Double("rope_theta", 10000.0);
  const std::string act = r.String("hidden_act", "gelu_pytorch_tanh");
  r.String("hidden_activation", "");  // legacy key; modeling_gemma.py uses hidden_act
  const nlohmann::json& rope_scaling = r.Raw("rope_scaling");
  RETURN_IF_ERROR(r.status());
  ASSIGN_OR_RETURN(c.hidden_act, blocks::ParseActivation(act, "hidden_act"));
  ASSIGN_OR_RETURN(c.rope, blocks::ParseRopeScaling(rope_scaling, c.info.head_dim, theta));
  AddUnusedKeyWarnings(r, c.info);
  return c;
}

}  // namespace

StatusOr<std::unique_ptr<Model>> CreateGemmaModel(ArchInputs in) {
  ASSIGN_OR_RETURN(LlamaConfig config, ParseGemmaConfig(in.config, in.source));
  return BuildLlamaFamilyModel(std::move(config), std::move(in));
}

}  // namespace sinkscope::models
