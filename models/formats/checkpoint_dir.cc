// Sharded checkpoints (`*.index.json`) and model directories.
//
// Index format (transformers `modeling_utils.py`, huggingface_hub `split_torch_state_dict_into_
// shards`): {"metadata": {...}, "weight_map": {tensor_name: shard_file_name}}. Shard names are
// plain file names in the index's directory.
//
// Decisions: a shard the index names but that is absent is DATA_LOSS (the checkpoint is
// incomplete, e.g. an interrupted download), not NOT_FOUND (which the server maps to "unknown
// model"). Tensors a shard holds beyond the ones the index lists for it are kept, as transformers
// does; a name found in two shards is DATA_LOSS.
#include <map>
#include <system_error>
#include <vector>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "models/formats/checkpoint.h"
#include "models/formats/mapped_file.h"

namespace sinkscope::formats {
namespace {

// Real index files are tens of kilobytes; the bound only keeps a hostile one from exhausting RAM.
constexpr uint64_t kMaxIndexBytes = 64ull << 20;

using ShardReader = StatusOr<TensorMap> (*)(const std::filesystem::path&);

bool IsPlainFileName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\\\0", 3)) == std::string_view::npos;
}

bool FileExists(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

// weight_map grouped by shard: shard file name -> tensor names.
StatusOr<std::map<std::string, std::vector<std::string>>> ParseWeightMap(std::string_view text) {
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    return DataLossError("not valid JSON: {}", e.what());
  }
  if (!index.is_object())
    return DataLossError("index is a JSON {}, not an object", index.type_name());
  auto it = index.find("weight_map");
  if (it == index.end() || !it->is_object()) {
    return DataLossError("index has no \"weight_map\" object");
  }
  std::map<std::string, std::vector<std::string>> by_shard;
  for (const auto& [tensor, shard] : it->items()) {
    if (!shard.is_string()) {
      return DataLossError("weight_map['{}'] is a JSON {}, not a file name", tensor,
                           shard.type_name());
    }
    const auto& name = shard.get_ref<const std::string&>();
    if (!IsPlainFileName(name)) {
      return DataLossError("weight_map['{}'] names shard '{}', which is not a plain file name",
                           tensor, name);
    }
    by_shard[name].push_back(tensor);
  }
  return by_shard;
}

StatusOr<TensorMap> ReadShardedIndex(const std::filesystem::path& index_json,
                                     ShardReader read_shard) {
  ASSIGN_OR_RETURN(auto text, ReadFileBounded(index_json, kMaxIndexBytes));
  auto parsed = ParseWeightMap(text);
  if (!parsed.ok()) return parsed.status().WithContext(index_json.string());
  const auto& by_shard = parsed.value();
  const auto dir = index_json.parent_path();

  // Report every missing shard at once: a partial download usually lacks several.
  std::vector<std::string> missing;
  for (const auto& [shard, tensors] : by_shard) {
    if (!FileExists(dir / shard)) {
      missing.push_back(
          fmt::format("'{}' ({} tensors, e.g. '{}')", shard, tensors.size(), tensors.front()));
    }
  }
  if (!missing.empty()) {
    return DataLossError("{}: missing shard files in {}: {}", index_json.string(), dir.string(),
                         fmt::join(missing, ", "));
  }

  TensorMap result;
  std::map<std::string, std::string> origin;  // tensor -> shard it came from
  for (const auto& [shard, tensors] : by_shard) {
    ASSIGN_OR_RETURN(auto shard_tensors, read_shard(dir / shard));
    for (const auto& name : tensors) {
      if (shard_tensors.find(name) == shard_tensors.end()) {
        return DataLossError("{}: '{}' is not in shard '{}' where the index puts it",
                             index_json.string(), name, shard);
      }
    }
    for (auto& [name, tensor] : shard_tensors) {
      auto [it, inserted] = origin.emplace(name, shard);
      if (!inserted) {
        return DataLossError("{}: '{}' appears in both shard '{}' and shard '{}'",
                             index_json.string(), name, it->second, shard);
      }
      result.emplace(name, std::move(tensor));
    }
  }
  return result;
}

StatusOr<TensorMap> ReadTorchBinIndex(const std::filesystem::path& index_json) {
  return ReadShardedIndex(index_json, &ReadTorchBin);
}

struct Candidate {
  std::string_view name;
  ShardReader read;
};

}  // namespace

StatusOr<TensorMap> ReadSafetensorsIndex(const std::filesystem::path& index_json) {
  return ReadShardedIndex(index_json, &ReadSafetensors);
}

StatusOr<TensorMap> ReadCheckpointDir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return NotFoundError("{} is not a directory", dir.string());
  }
  // In the order transformers prefers them.
  const Candidate candidates[] = {
      {"model.safetensors", &ReadSafetensors},
      {"model.safetensors.index.json", &ReadSafetensorsIndex},
      {"pytorch_model.bin", &ReadTorchBin},
      {"pytorch_model.bin.index.json", &ReadTorchBinIndex},
  };
  std::vector<std::string_view> looked_for;
  for (const auto& candidate : candidates) {
    const auto path = dir / candidate.name;
    looked_for.push_back(candidate.name);
    if (FileExists(path)) return candidate.read(path);
  }
  return NotFoundError("no checkpoint in {}: looked for {}", dir.string(),
                       fmt::join(looked_for, ", "));
}

}  // namespace sinkscope::formats
