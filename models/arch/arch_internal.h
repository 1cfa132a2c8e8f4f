// Architecture factories (one per file in models/arch/) and the helpers they share. Only
// models/registry.cc maps model_type strings to these factories.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "models/blocks/linear.h"
#include "models/blocks/mlp.h"
#include "models/formats/checkpoint.h"
#include "models/formats/hf_config.h"
#include "models/model.h"
#include "models/weights.h"

namespace sinkscope::models {

/// Everything a factory gets: the parsed config.json, the checkpoint's tensors, load options.
struct ArchInputs {
  const nlohmann::json& config;
  std::string source;  ///< for messages: the config file path
  formats::TensorMap tensors;
  LoadOptions options;
};

using ArchFactory = StatusOr<std::unique_ptr<Model>> (*)(ArchInputs inputs);

StatusOr<std::unique_ptr<Model>> CreateBertModel(ArchInputs inputs);  // bert, roberta, xlm-roberta
StatusOr<std::unique_ptr<Model>> CreateGpt2Model(ArchInputs inputs);  // gpt2
StatusOr<std::unique_ptr<Model>> CreateGptNeoXModel(ArchInputs inputs);  // gpt_neox
StatusOr<std::unique_ptr<Model>> CreateLlamaModel(ArchInputs inputs);    // llama, mistral, qwen2
StatusOr<std::unique_ptr<Model>> CreateGemmaModel(ArchInputs inputs);    // gemma
StatusOr<std::unique_ptr<Model>> CreatePhiModel(ArchInputs inputs);      // phi

/// Reads the size keys every architecture shares, validates them (positive; heads divide the
/// hidden size unless head_dim is explicit; query heads a multiple of key/value heads) and fills
/// `info`. Key names differ per architecture, hence the parameters.
struct CommonSizeKeys {
  const char* hidden = "hidden_size";
  const char* layers = "num_hidden_layers";
  const char* heads = "num_attention_heads";
  const char* kv_heads = nullptr;  ///< absent: kv heads = heads
  const char* head_dim = nullptr;  ///< absent: hidden / heads (or default_head_dim)
  int64_t default_head_dim = 0;    ///< > 0: head_dim when the key is absent (Gemma: 256)
  const char* positions = "max_position_embeddings";
  const char* vocab = "vocab_size";
};
void ReadCommonSizes(formats::ConfigReader& reader, const CommonSizeKeys& keys, ModelInfo& info);

/// Per layer l, the projections `<prefix(l)><name>.weight` (+ `.bias` where present) fused into
/// one product, in the order of `names`; `prefix_format` has one `{}` for the layer index, e.g.
/// "layers.{}.self_attn." with names {"q_proj", "k_proj", "v_proj"}. The separate tensors are
/// taken out of `weights`, so only the fused copy stays in memory.
std::vector<blocks::FusedLinear> FuseLayerProjections(Weights& weights, int num_layers,
                                                      const std::string& prefix_format,
                                                      const std::vector<std::string>& names);

/// The projection `<name>.weight` (+ `<name>.bias` where present) as a prepared linear layer,
/// taken out of `weights`. `stored_in_out`: the checkpoint stores the weight as [in,out] (GPT-2's
/// Conv1D), so it is transposed once here.
blocks::Linear TakeLinear(Weights& weights, const std::string& name, bool stored_in_out = false);

/// HF's nn.Embedding padding_idx from config pad_token_id: the id when it is inside the
/// vocabulary, else -1 (none). It only changes the embedding's gradient (that row gets none from
/// the lookup), which Model::ParameterGradients must reproduce.
int64_t EmbeddingPaddingIdx(std::optional<int64_t> pad_token_id, int64_t vocab_size);

/// Appends "config key '<k>' is not used by <arch>" warnings for keys the parser never read,
/// skipping generic HF keys that never affect the forward pass.
void AddUnusedKeyWarnings(const formats::ConfigReader& reader, ModelInfo& info);

}  // namespace sinkscope::models
