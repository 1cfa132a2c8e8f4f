#include <set>

#include "models/arch/arch_internal.h"

namespace sinkscope::models {

void ReadCommonSizes(formats::ConfigReader& reader, const CommonSizeKeys& keys, ModelInfo& info) {
  const int64_t hidden = reader.RequireInt(keys.hidden);
  const int64_t layers = reader.RequireInt(keys.layers);
  const int64_t heads = reader.RequireInt(keys.heads);
  const int64_t kv_heads = keys.kv_heads ? reader.Int(keys.kv_heads, heads) : heads;
  const int64_t vocab = reader.RequireInt(keys.vocab);
  const int64_t positions = reader.RequireInt(keys.positions);
  reader.RequirePositive(keys.hidden, hidden);
  reader.RequirePositive(keys.layers, layers);
  reader.RequirePositive(keys.heads, heads);
  reader.RequirePositive(keys.vocab, vocab);
  reader.RequirePositive(keys.positions, positions);
  if (keys.kv_heads) reader.RequirePositive(keys.kv_heads, kv_heads);
  int64_t head_dim = 0;
  std::optional<int64_t> explicit_head_dim =
      keys.head_dim ? reader.OptionalInt(keys.head_dim) : std::nullopt;
  if (explicit_head_dim) {
    head_dim = *explicit_head_dim;
    reader.RequirePositive(keys.head_dim, head_dim);
  } else if (keys.default_head_dim > 0) {
    head_dim = keys.default_head_dim;
  } else if (heads > 0 && hidden > 0) {
    if (hidden % heads != 0) {
      reader.Fail(keys.heads,
                  fmt::format("= {} does not divide {} = {}", heads, keys.hidden, hidden));
    }
    head_dim = hidden / heads;
  }
  if (heads > 0 && kv_heads > 0 && heads % kv_heads != 0) {
    reader.Fail(keys.kv_heads,
                fmt::format("= {} does not divide {} = {}", kv_heads, keys.heads, heads));
  }
  constexpr int64_t kLimit = 1 << 20;  // far above any real model; guards int conversions
  for (int64_t v : {hidden, layers, heads, kv_heads, head_dim}) {
    if (v > kLimit) reader.Fail(keys.hidden, fmt::format("size {} is implausibly large", v));
  }
  info.hidden_size = static_cast<int>(hidden);
  info.num_layers = static_cast<int>(layers);
  info.num_heads = static_cast<int>(heads);
  info.num_kv_heads = static_cast<int>(kv_heads);
  info.head_dim = static_cast<int>(head_dim);
  info.vocab_size = vocab;
  info.max_positions = positions;
}

std::vector<blocks::FusedLinear> FuseLayerProjections(Weights& weights, int num_layers,
                                                      const std::string& prefix_format,
                                                      const std::vector<std::string>& names) {
  std::vector<blocks::FusedLinear> fused;
  for (int l = 0; l < num_layers; ++l) {
    const std::string prefix = fmt::format(fmt::runtime(prefix_format), l);
    std::vector<at::Tensor> w, b;
    for (const auto& name : names) {
      w.push_back(weights.Take(prefix + name + ".weight"));
      b.push_back(weights.Take(prefix + name + ".bias"));
    }
    fused.emplace_back(w, b);
  }
  return fused;
}

blocks::Linear TakeLinear(Weights& weights, const std::string& name, bool stored_in_out) {
  at::Tensor w = weights.Take(name + ".weight");
  at::Tensor b = weights.Take(name + ".bias");
  return stored_in_out ? blocks::Linear::FromInOut(w, b) : blocks::Linear(w, b);
}

int64_t EmbeddingPaddingIdx(std::optional<int64_t> pad_token_id, int64_t vocab_size) {
  if (!pad_token_id || *pad_token_id < 0 || *pad_token_id >= vocab_size) return -1;
  return *pad_token_id;
}

void AddUnusedKeyWarnings(const formats::ConfigReader& reader, ModelInfo& info) {
  // Keys that describe training, generation, tokenization or bookkeeping, not the forward pass.
  static const std::set<std::string> kIgnored = {// NOLINT: immutable table
                                                 "architectures",
                                                 "model_type",
                                                 "transformers_version",
                                                 "torch_dtype",
                                                 "dtype",
                                                 "_name_or_path",
                                                 "use_cache",
                                                 "bos_token_id",
                                                 "eos_token_id",
                                                 "initializer_range",
                                                 "attention_probs_dropout_prob",
                                                 "hidden_dropout_prob",
                                                 "attention_dropout",
                                                 "hidden_dropout",
                                                 "resid_pdrop",
                                                 "embd_pdrop",
                                                 "attn_pdrop",
                                                 "summary_activation",
                                                 "summary_first_dropout",
                                                 "summary_proj_to_labels",
                                                 "summary_type",
                                                 "summary_use_proj",
                                                 "task_specific_params",
                                                 "gradient_checkpointing",
                                                 "classifier_dropout",
                                                 "pretraining_tp",
                                                 "id2label",
                                                 "label2id",
                                                 "tokenizer_class",
                                                 "output_past",
                                                 "n_ctx",
                                                 "is_decoder",
                                                 "tie_encoder_decoder",
                                                 "problem_type",
                                                 "return_dict",
                                                 "output_hidden_states",
                                                 "output_attentions",
                                                 "chunk_size_feed_forward",
                                                 "use_return_dict",
                                                 "decoder_start_token_id",
                                                 "sep_token_id",
                                                 "cls_token_id"};
  for (const auto& key : reader.UnreadKeys()) {
    if (!kIgnored.count(key)) {
      info.load_warnings.push_back(fmt::format("config key '{}' is not used by the {} architecture",
                                               key, info.architecture));
    }
  }
}

}  // namespace sinkscope::models
