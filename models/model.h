// The model runtime's public interface: load a Hugging Face model, run batches with capture.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "core/status.h"
#include "models/capture.h"

namespace sinkscope::models {

/// What every architecture reports about itself after loading.
struct ModelInfo {
  std::string model_type;    ///< config.json model_type, e.g. "llama"
  std::string architecture;  ///< the architecture file that runs it, e.g. "llama"
  int num_layers = 0;
  int num_heads = 0;  ///< query heads (attention is reported per query head)
  int num_kv_heads = 0;
  int hidden_size = 0;
  int head_dim = 0;
  int64_t vocab_size = 0;
  int64_t max_positions = 0;  ///< longest input the position scheme supports
  bool causal = false;
  bool has_lm_head = false;
  int64_t pad_token_id = 0;  ///< id used to fill padding (config pad_token_id, else 0)
  std::string directory;     ///< the resolved model directory (hub snapshot or local dir)
  std::string revision;      ///< hub commit hash; empty for a local directory
  c10::ScalarType dtype = c10::kFloat;  ///< weights' compute dtype
  c10::Device device = c10::Device(c10::kCPU);
  std::vector<std::string> load_warnings;  ///< unused checkpoint tensors, unknown config keys…
};

enum class PaddingSide { kRight, kLeft };

/// A padded batch. Build it with MakeBatch.
struct Batch {
  at::Tensor input_ids;          ///< [B,T] int64; padding filled with ModelInfo::pad_token_id
  at::Tensor attention_mask;     ///< [B,T] int64; 1 for real tokens
  std::vector<int64_t> lengths;  ///< real tokens per sentence
  std::vector<int64_t> offsets;  ///< index of each sentence's first real token (left padding)
  PaddingSide side = PaddingSide::kRight;
};

/// Pads token id sequences into a batch (validation happens in Model::Forward).
Batch MakeBatch(const std::vector<std::vector<int64_t>>& sequences, PaddingSide side,
                int64_t pad_token_id);

struct ForwardOptions {
  CaptureOptions capture;
  Interventions interventions;
  bool compute_logits = false;  ///< run the LM head (causal models only)
  /// Stop as soon as the last requested capture has gone to the visitor: later layers, and the
  /// rest of the last captured layer, are not computed, and ForwardResult is empty (no final
  /// hidden state). For work that only reads captures — attention maps, or the first layers of
  /// a deep model. Cannot be combined with compute_logits.
  bool stop_after_captures = false;
};

/// Per-token tensors are padded, [B,T,...], with zeros at padding positions.
struct ForwardResult {
  at::Tensor final_hidden;  ///< [B,T,D] after the final norm (encoders: last layer output);
                            ///< undefined after stop_after_captures
  at::Tensor logits;        ///< [B,T,V] when requested and the model has an LM head
};

struct LoadOptions {
  c10::Device device = c10::Device(c10::kCPU);
  /// Compute dtype of the weights: kFloat (default), kBFloat16 or kHalf. Attention
  /// probabilities are always computed and returned in float32.
  c10::ScalarType dtype = c10::kFloat;
};

/// A loaded model. Forward is safe to call from one thread at a time.
class Model {
 public:
  virtual ~Model() = default;
  const ModelInfo& info() const { return info_; }

  /// Validates the batch (empty input, ids outside [0, vocab), longer than max_positions, bad
  /// intervention indices → INVALID_ARGUMENT), then runs it, handing each layer's capture to
  /// `visitor` as soon as that layer is done. Nothing keeps all layers' captures.
  StatusOr<ForwardResult> Forward(const Batch& batch, const ForwardOptions& options,
                                  const LayerVisitor& visitor);

 protected:
  explicit Model(ModelInfo info) : info_(std::move(info)) {}
  /// Architecture-specific forward; inputs already validated and on the model's device.
  virtual StatusOr<ForwardResult> RunForward(const Batch& batch, const ForwardOptions& options,
                                             const LayerVisitor& visitor) = 0;
  ModelInfo info_;

 private:
  // Fills the load-time fields of info_ (dtype, device, directory, revision).
  friend StatusOr<std::unique_ptr<Model>> LoadModel(const std::string&, const LoadOptions&,
                                                    const std::filesystem::path&);
  Status ValidateBatch(const Batch& batch, const ForwardOptions& options) const;
};

/// Loads a model from a directory (config.json + safetensors / pytorch_model.bin) or an offline
/// Hugging Face hub id "org/name[@revision]" resolved in `hub_cache_dir` (default: $HF_HOME/hub).
StatusOr<std::unique_ptr<Model>> LoadModel(const std::string& source, const LoadOptions& options,
                                           const std::filesystem::path& hub_cache_dir = {});

/// The model_type values LoadModel accepts, sorted.
std::vector<std::string> SupportedModelTypes();

}  // namespace sinkscope::models
