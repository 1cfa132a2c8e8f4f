#include "models/weights.h"

#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/torch_call.h"

namespace sinkscope::models {

namespace {

// Buffers Hugging Face checkpoints carry that are recomputed, not learned (position id ranges,
// causal-mask tables, rotary frequencies): not worth a warning when unused.
bool IsKnownBuffer(const std::string& name) {
  for (const char* suffix : {".position_ids", ".attn.bias", ".attn.masked_bias", ".attention.bias",
                             ".attention.masked_bias", ".rotary_emb.inv_freq"}) {
    const std::string s(suffix);
    if (name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      return true;
    }
  }
  return false;
}

std::string ShapeString(at::IntArrayRef shape) {
  return fmt::format("[{}]", fmt::join(shape, ","));
}
}  // namespace

StatusOr<Weights> Weights::Load(formats::TensorMap tensors, const WeightManifest& manifest,
                                const std::vector<std::string>& prefixes,
                                const LoadOptions& options, std::vector<std::string>* warnings) {
  if (manifest.empty()) return InternalError("empty weight manifest");
  std::string prefix;
  bool found_prefix = false;
  for (const auto& p : prefixes) {
    if (tensors.count(p + manifest.front().name)) {
      prefix = p;
      found_prefix = true;
      break;
    }
  }
  if (!found_prefix) {
    std::vector<std::string> tried;
    for (const auto& p : prefixes) tried.push_back("'" + p + manifest.front().name + "'");
    std::vector<std::string> sample;
    for (const auto& [name, t] : tensors) {
      if (sample.size() == 5) break;
      sample.push_back("'" + name + "'");
    }
    return DataLossError(
        "checkpoint does not contain the tensors this config needs: none of {} found; the "
        "checkpoint has {} tensors, e.g. {}",
        fmt::join(tried, ", "), tensors.size(), fmt::join(sample, ", "));
  }

  std::vector<std::string> problems;
  std::set<std::string> used;
  Weights w;
  for (const auto& spec : manifest) {
    const std::string key = spec.absolute ? spec.name : prefix + spec.name;
    auto it = tensors.find(key);
    if (options.differentiable && !spec.tied_to.empty()) {
      // HF ties the head to the embedding whatever the checkpoint stores.
      if (it != tensors.end()) used.insert(key);
      continue;
    }
    if (it == tensors.end()) {
      if (!spec.tied_to.empty() || !spec.required) continue;
      problems.push_back(
          fmt::format("missing '{}' (expected shape {})", key, ShapeString(spec.shape)));
      continue;
    }
    used.insert(key);
    const at::Tensor& t = it->second;
    if (t.sizes() != at::IntArrayRef(spec.shape)) {
      problems.push_back(fmt::format("'{}' has shape {}, expected {}", key, ShapeString(t.sizes()),
                                     ShapeString(spec.shape)));
      continue;
    }
    if (!at::isFloatingType(t.scalar_type())) {
      problems.push_back(fmt::format("'{}' has dtype {}, expected a floating-point type", key,
                                     c10::toString(t.scalar_type())));
      continue;
    }
    auto converted = TorchCall(fmt::format("converting '{}'", key), [&] {
      if (!options.differentiable) return t.to(options.device, options.dtype).contiguous();
      // An own copy (never a view into the checkpoint's buffer), a leaf that collects gradients.
      at::Tensor p =
          t.to(options.device, options.dtype, /*non_blocking=*/false, /*copy=*/true).contiguous();
      p.set_requires_grad(true);
      return p;
    });
    if (!converted.ok()) return converted.status();
    if (options.differentiable) {
      const std::string hf_name = spec.absolute ? spec.name : prefixes.front() + spec.name;
      w.parameters_.push_back({hf_name, converted.value()});
    }
    w.by_name_[spec.name] = std::move(converted).value();
  }
  if (!problems.empty()) {
    return DataLossError("checkpoint does not match the config: {}", fmt::join(problems, "; "));
  }
  for (const auto& spec : manifest) {
    if (w.by_name_.count(spec.name) || spec.tied_to.empty()) continue;
    auto tied = w.by_name_.find(spec.tied_to);
    if (tied == w.by_name_.end()) {
      return DataLossError("'{}' is absent and the tensor it is tied to, '{}', is absent too",
                           spec.name, spec.tied_to);
    }
    w.by_name_[spec.name] = tied->second;
  }
  if (warnings != nullptr) {
    for (const auto& [name, t] : tensors) {
      if (!used.count(name) && !IsKnownBuffer(name))
        warnings->push_back(fmt::format("unused checkpoint tensor '{}'", name));
    }
  }
  return w;
}

at::Tensor Weights::Take(const std::string& name) {
  auto node = by_name_.extract(name);
  return node.empty() ? at::Tensor() : std::move(node.mapped());
}

const at::Tensor& Weights::Get(const std::string& name) const {
  auto it = by_name_.find(name);
  if (it != by_name_.end()) return it->second;
  return undefined_;
}

}  // namespace sinkscope::models
