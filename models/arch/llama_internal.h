// The LLaMA-style decoder (pre-RMSNorm, rotary, GQA, gated MLP) shared by llama.cc and the
// architectures that differ from it only in documented details (gemma.cc).
#pragma once

#include "models/arch/arch_internal.h"
#include "models/blocks/mlp.h"
#include "models/blocks/norms.h"
#include "models/blocks/rotary.h"

namespace sinkscope::models {

struct LlamaConfig {
  ModelInfo info;
  double rms_norm_eps = 1e-6;
  bool attention_bias = false;
  bool tie_word_embeddings = false;
  int64_t intermediate_size = 0;
  blocks::Activation hidden_act = blocks::Activation::kSilu;
  blocks::RopeConfig rope;
  blocks::RmsNormKind norm_kind = blocks::RmsNormKind::kScaleByWeight;  ///< Gemma: 1 + weight
  bool scale_embeddings = false;  ///< Gemma: embeddings × sqrt(hidden_size)
  /// config pad_token_id when set: HF's nn.Embedding(padding_idx) gives that row no gradient
  /// from the lookup (the forward is unaffected); -1: none.
  int64_t embedding_padding_idx = -1;
};

/// Checks the checkpoint against the config's manifest and builds the model.
StatusOr<std::unique_ptr<Model>> BuildLlamaFamilyModel(LlamaConfig config, ArchInputs inputs);

}  // namespace sinkscope::models
