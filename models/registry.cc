// The one place that maps config.json's model_type to an architecture (STYLE §7.1).
#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/torch_call.h"
#include "models/arch/arch_internal.h"
#include "models/formats/checkpoint.h"
#include "models/formats/hf_cache.h"
#include "models/formats/hf_config.h"
#include "models/model.h"

namespace sinkscope::models {
namespace {

struct Registration {
  const char* model_type;
  ArchFactory factory;
};

constexpr Registration kRegistry[] = {
    {"bert", CreateBertModel},        {"roberta", CreateBertModel},
    {"xlm-roberta", CreateBertModel}, {"gpt2", CreateGpt2Model},
    {"gpt_neox", CreateGptNeoXModel}, {"llama", CreateLlamaModel},
    {"mistral", CreateLlamaModel},    {"qwen2", CreateLlamaModel},
    {"gemma", CreateGemmaModel},      {"phi", CreatePhiModel},
};

}  // namespace

std::vector<std::string> SupportedModelTypes() {
  std::vector<std::string> types;
  for (const auto& r : kRegistry) types.emplace_back(r.model_type);
  std::sort(types.begin(), types.end());
  return types;
}

StatusOr<std::unique_ptr<Model>> LoadModel(const std::string& source, const LoadOptions& options,
                                           const std::filesystem::path& hub_cache_dir) {
  ASSIGN_OR_RETURN(formats::ResolvedSnapshot snapshot,
                   formats::ResolveModelSource(source, hub_cache_dir));
  const std::filesystem::path config_path = snapshot.directory / "config.json";
  ASSIGN_OR_RETURN(nlohmann::json config, formats::ReadJsonObjectFile(config_path));
  auto type_it = config.find("model_type");
  if (type_it == config.end() || !type_it->is_string()) {
    return InvalidArgumentError("{}: 'model_type' is missing or not a string",
                                config_path.string());
  }
  const std::string model_type = type_it->get<std::string>();
  const Registration* registration = nullptr;
  for (const auto& r : kRegistry) {
    if (model_type == r.model_type) registration = &r;
  }
  if (registration == nullptr) {
    return UnimplementedError("{}: model_type '{}' is not supported (supported: {})",
                              config_path.string(), model_type,
                              fmt::join(SupportedModelTypes(), ", "));
  }
  if (options.dtype != c10::kFloat && options.dtype != c10::kBFloat16 &&
      options.dtype != c10::kHalf) {
    return UnimplementedError("weights dtype {} is not supported (fp32, bf16, fp16)",
                              c10::toString(options.dtype));
  }
  if (options.dtype == c10::kHalf && !options.device.is_cuda()) {
    // libtorch's CPU kernels have no fp16 matmul (1.13: "addmm_impl_cpu_ not implemented").
    return UnimplementedError(
        "fp16 weights need a CUDA device; on CPU use bf16 or fp32 (fp16 checkpoints are "
        "converted on load)");
  }
  if (options.device.is_cuda()) {
    auto available = TorchCall("checking CUDA", [] { return at::hasCUDA(); });
    if (!available.ok() || !available.value()) {
      return FailedPreconditionError("device {} requested but this build or machine has no CUDA",
                                     options.device.str());
    }
  }
  ASSIGN_OR_RETURN(formats::TensorMap tensors, formats::ReadCheckpointDir(snapshot.directory));
  auto model =
      registration->factory(ArchInputs{config, config_path.string(), std::move(tensors), options});
  if (!model.ok()) return model.status().WithContext(snapshot.directory.string());
  ModelInfo& info = (*model)->info_;
  info.dtype = options.dtype;
  info.device = options.device;
  info.differentiable = options.differentiable;
  info.directory = snapshot.directory.string();
  info.revision = snapshot.commit;
  return model;
}

}  // namespace sinkscope::models
