// Weight manifests: each architecture lists the tensors it needs (HF key, shape, required or
// tied); the checkpoint is checked against the list before anything is converted or moved, and
// every problem is reported in one status.
#pragma once

#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/status.h"
#include "models/formats/checkpoint.h"
#include "models/model.h"

namespace sinkscope::models {

struct WeightSpec {
  WeightSpec(std::string name_in, std::vector<int64_t> shape_in, bool required_in = true)
      : name(std::move(name_in)), shape(std::move(shape_in)), required(required_in) {}

  std::string name;  ///< key below the detected prefix, e.g. "layers.0.mlp.up_proj.weight"
  std::vector<int64_t> shape;  ///< expected shape
  bool required = true;        ///< optional tensors may be absent (e.g. biases some configs drop)
  std::string tied_to;         ///< if absent, use this manifest tensor (tied embeddings)
  bool absolute = false;       ///< `name` is a full key (heads outside the base model)
};
using WeightManifest = std::vector<WeightSpec>;

/// Checked, converted weights of one model.
class Weights {
 public:
  /// Detects which of `prefixes` the checkpoint uses for the base model (probing the first
  /// manifest entry), checks presence, shape and floating dtype of every entry, and converts the
  /// tensors to `options.dtype` on `options.device`. DATA_LOSS lists every missing or misshapen
  /// tensor at once. Checkpoint tensors no manifest entry uses become warnings.
  ///
  /// With `options.differentiable` every tensor is an own copy that requires grad and is listed
  /// in parameters() under its Hugging Face name: `prefixes.front()` (the prefix the HF
  /// *ForCausalLM class uses, whatever prefix the checkpoint has) + the manifest name, or the
  /// absolute name. A tied entry then always shares its target, as HF ties it, even when the
  /// checkpoint also stores a copy, and is not listed again.
  static StatusOr<Weights> Load(formats::TensorMap tensors, const WeightManifest& manifest,
                                const std::vector<std::string>& prefixes,
                                const LoadOptions& options, std::vector<std::string>* warnings);

  /// A manifest tensor (undefined if it was optional and absent).
  const at::Tensor& Get(const std::string& name) const;
  /// Removes a tensor and returns it (undefined if absent), for weights that are repacked at
  /// load (fused projections) so the original is not kept twice.
  at::Tensor Take(const std::string& name);
  /// The parameters in manifest order (differentiable loads only; empty otherwise).
  const std::vector<NamedParameter>& parameters() const { return parameters_; }

 private:
  std::map<std::string, at::Tensor> by_name_;
  std::vector<NamedParameter> parameters_;
  at::Tensor undefined_;
};

}  // namespace sinkscope::models
