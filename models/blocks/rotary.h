// Rotary position embeddings (RoFormer), Hugging Face "rotate_half" layout, with the scaling
// variants of transformers/modeling_rope_utils.py: default, linear, llama3. Partial rotary
// (GPT-NeoX rotary_pct, Phi partial_rotary_factor) rotates the first `rotary_dim` channels of
// each head and passes the rest through.
#pragma once

#include <string>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "core/status.h"

namespace sinkscope::models::blocks {

struct RopeConfig {
  int64_t rotary_dim = 0;        ///< channels rotated per head (even)
  double theta = 10000.0;        ///< rope_theta / rotary_emb_base
  std::string type = "default";  ///< "default", "linear", "llama3"
  double factor = 1.0;
  double low_freq_factor = 1.0;                  ///< llama3
  double high_freq_factor = 4.0;                 ///< llama3
  int64_t original_max_position_embeddings = 0;  ///< llama3
};

/// Reads config.json's `rope_scaling` (null → default). `rope_type` (or legacy `type`) must be
/// one of the supported kinds; others (dynamic, yarn, longrope, …) are UNIMPLEMENTED.
StatusOr<RopeConfig> ParseRopeScaling(const nlohmann::json& rope_scaling, int64_t rotary_dim,
                                      double theta);

struct CosSin {
  at::Tensor cos, sin;  ///< [B,1,T,rotary_dim], dtype of the activations
};

class RotaryEmbedding {
 public:
  RotaryEmbedding() = default;
  explicit RotaryEmbedding(const RopeConfig& config);

  /// cos/sin for [B,T] position ids, computed in float32 then cast to `dtype`.
  CosSin Compute(const at::Tensor& position_ids, at::ScalarType dtype) const;
  /// x [B,H,T,hd] → x with its first rotary_dim channels rotated.
  at::Tensor Apply(const at::Tensor& x, const CosSin& cs) const;

  const at::Tensor& inv_freq() const { return inv_freq_; }

 private:
  RopeConfig config_;
  at::Tensor inv_freq_;  ///< [rotary_dim/2] float32 (CPU; moved to the positions' device)
};

}  // namespace sinkscope::models::blocks
