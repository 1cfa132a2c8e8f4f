// The model runtime's public interface: load a Hugging Face model, run batches with capture.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
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
  bool differentiable = false;             ///< loaded with LoadOptions::differentiable
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
  /// [B,T] int64, optional: the keys attention may see, when that differs from attention_mask.
  /// Undefined (the normal case): attention_mask. Model::ParameterGradients sets it for a loss
  /// over padding positions, which are then computed like tokens but never attended to.
  at::Tensor key_mask;
};

/// Pads token id sequences into a batch (validation happens in Model::Forward).
Batch MakeBatch(const std::vector<std::vector<int64_t>>& sequences, PaddingSide side,
                int64_t pad_token_id);

/// Row `row` of `batch` as a batch of one, keeping its padding (fisher.ipynb slices each sample
/// out of one padded batch).
Batch BatchRow(const Batch& batch, int64_t row);

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
  /// Keep every weight as a plain tensor that requires grad, under its Hugging Face name, with
  /// no load-time repacking (no oneDNN prepared copies, no fused projections: products are
  /// at::linear), so Model::ParameterGradients can run autograd. Slower inference; forward
  /// results are the same. Default off: inference keeps its prepared layouts.
  bool differentiable = false;
};

/// A model parameter under its full Hugging Face `named_parameters()` name (e.g.
/// "model.layers.0.self_attn.q_proj.weight"), in the checkpoint's shape.
struct NamedParameter {
  std::string name;
  at::Tensor tensor;
};

/// Which positions the causal-LM loss counts (labels = input ids, shifted by one).
enum class LossPadding {
  /// CORRECTED (infogeo-value spec §3.6 item 1): padding positions are labelled −100, so the
  /// loss of a padded row equals the loss of the sentence alone.
  kExclude,
  /// PAPER (fisher.ipynb, spec §3.2): labels = input_ids at every position of the padded row,
  /// pads included; the attention mask still keeps pads from being attended to. Pads are
  /// computed at the positions HF gives them (0…T−1 of the row): needs right padding.
  kInclude,
};

struct LossOptions {
  LossPadding padding = LossPadding::kExclude;
};

/// What ParameterGradients computed besides the gradients.
struct LossResult {
  double loss = 0.0;       ///< HF's causal-LM loss: mean next-token cross-entropy
  int64_t num_labels = 0;  ///< label positions the mean ran over
};

/// Receives one parameter's gradient: full HF name and the fp32 gradient (same shape as the
/// parameter, on the model's device). A non-OK status stops the walk and is returned.
using ParameterVisitor = std::function<Status(const std::string& name, const at::Tensor& grad)>;

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

  /// Gradients of Hugging Face's causal-LM loss on `batch` (`*ForCausalLM(input_ids,
  /// attention_mask, labels=input_ids)`: logits in fp32, shifted by one position, mean
  /// cross-entropy over the labelled positions of the whole batch) with respect to every
  /// parameter. Runs the forward with autograd and one backward, then hands each parameter's
  /// gradient to `visitor` under its Hugging Face `named_parameters()` name (tied weights once,
  /// under the input embedding's name), in the architecture's manifest order. A parameter the loss
  /// does not reach gets zeros. For per-sample gradients call it once per sample (BatchRow keeps a
  /// row's padding).
  ///
  /// FAILED_PRECONDITION unless loaded with LoadOptions::differentiable; UNIMPLEMENTED for
  /// encoders (masked-LM loss is not implemented); INVALID_ARGUMENT for a bad batch, a batch with
  /// no label position (every sentence one token long), or kInclude with left padding.
  StatusOr<LossResult> ParameterGradients(const Batch& batch, const LossOptions& options,
                                          const ParameterVisitor& visitor);

  /// The parameters in Hugging Face naming (empty unless loaded differentiable).
  const std::vector<NamedParameter>& parameters() const { return parameters_; }

 protected:
  explicit Model(ModelInfo info) : info_(std::move(info)) {}
  /// Architecture-specific forward; inputs already validated and on the model's device.
  virtual StatusOr<ForwardResult> RunForward(const Batch& batch, const ForwardOptions& options,
                                             const LayerVisitor& visitor) = 0;
  ModelInfo info_;
  /// Filled by each architecture from Weights::parameters() (differentiable models only).
  std::vector<NamedParameter> parameters_;

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
