// torch zip checkpoints (`pytorch_model.bin`, torch.save since 1.6).
//
// Layout (torch/serialization.py `_save`, caffe2/serialize/inline_container.h): a zip archive of
// STORED records under one top-level folder `<archive>/`: `data.pkl` (the pickled object, whose
// tensors reference storages through persistent ids), `data/<key>` (raw little-endian storage
// bytes, 64-byte aligned), `version`, and since torch 1.13/2.x `byteorder` and `.data/...`.
// The pickle goes through the restricted unpickler; storages alias the file's memory map.
#include <algorithm>
#include <unordered_map>

#include <ATen/ATen.h>

#include "models/formats/checkpoint.h"
#include "models/formats/mapped_file.h"
#include "models/formats/restricted_unpickler_internal.h"
#include "models/formats/zip_archive_internal.h"

namespace sinkscope::formats {
namespace {

// Budget for copies made while rebuilding non-contiguous views, relative to the file size:
// real checkpoints copy at most about their own size.
uint64_t CopyBudget(uint64_t file_size) {
  return 2 * file_size + (uint64_t{64} << 20);
}

Status CheckNotLegacy(std::string_view bytes) {
  auto starts_with = [&](std::string_view prefix) {
    return bytes.substr(0, prefix.size()) == prefix;
  };
  if (starts_with("PK\x03\x04") || starts_with(std::string_view("PK\x05\x06", 4))) {
    return OkStatus();
  }
  // The legacy format (torch < 1.6 or _use_new_zipfile_serialization=False) starts with a
  // pickled magic number (protocol 2: 0x80 0x02); the even older one is a tar archive.
  if (starts_with("\x80")) {
    return UnimplementedError(
        "legacy (non-zip) torch serialization format is not supported; re-save it with a "
        "recent torch.save or convert it to safetensors");
  }
  if (bytes.size() >= 262 && bytes.substr(257, 5) == "ustar") {
    return UnimplementedError("legacy tar torch serialization format is not supported");
  }
  return DataLossError("not a torch zip checkpoint (no zip signature at the start)");
}

// The `<archive>/` folder holding data.pkl.
StatusOr<std::string> FindArchivePrefix(const ZipArchive& zip) {
  std::string prefix;
  int found = 0;
  for (const auto& entry : zip.entries()) {
    const auto& name = entry.name;
    constexpr std::string_view kPickle = "/data.pkl";
    if (name.size() > kPickle.size() &&
        name.compare(name.size() - kPickle.size(), kPickle.size(), kPickle) == 0 &&
        name.find('/') == name.size() - kPickle.size()) {
      prefix = name.substr(0, name.size() - kPickle.size());
      ++found;
    }
  }
  if (found == 0) return DataLossError("zip archive has no '<archive>/data.pkl' record");
  if (found > 1) return DataLossError("zip archive has {} '<archive>/data.pkl' records", found);
  return prefix;
}

struct CachedStorage {
  at::ScalarType dtype;
  int64_t numel;
  at::Tensor tensor;
};

StatusOr<TensorMap> ParseTorchBin(const std::shared_ptr<const MappedFile>& map) {
  RETURN_IF_ERROR(CheckNotLegacy(map->bytes()));
  ASSIGN_OR_RETURN(auto zip, ZipArchive::Open(map));
  ASSIGN_OR_RETURN(auto prefix, FindArchivePrefix(zip));

  if (zip.Find(prefix + "/constants.pkl") != nullptr) {
    return UnimplementedError(
        "this is a TorchScript archive (torch.jit.save), not a torch.save state dict");
  }
  if (const ZipEntry* order = zip.Find(prefix + "/byteorder")) {
    ASSIGN_OR_RETURN(auto bytes, zip.Read(*order, /*verify_crc=*/true));
    if (bytes == "big") {
      return UnimplementedError("big-endian torch checkpoints are not supported");
    }
    if (bytes != "little") {
      return DataLossError("byteorder record holds '{}', want 'little'",
                           bytes.substr(0, std::min<size_t>(bytes.size(), 16)));
    }
  }
  const ZipEntry* pickle_entry = zip.Find(prefix + "/data.pkl");
  ASSIGN_OR_RETURN(auto pickle, zip.Read(*pickle_entry, /*verify_crc=*/true));

  std::unordered_map<std::string, CachedStorage> storages;
  StorageLoader load = [&](const StorageRequest& request) -> StatusOr<at::Tensor> {
    if (auto it = storages.find(request.key); it != storages.end()) {
      if (it->second.dtype != request.dtype || it->second.numel != request.numel) {
        return DataLossError("storage '{}' is referenced as {} x {} and as {} x {}", request.key,
                             it->second.numel, c10::toString(it->second.dtype), request.numel,
                             c10::toString(request.dtype));
      }
      return it->second.tensor;
    }
    const std::string record = prefix + "/data/" + request.key;
    const ZipEntry* entry = zip.Find(record);
    if (entry == nullptr) return DataLossError("storage record '{}' is missing", record);
    const uint64_t itemsize = c10::elementSize(request.dtype);
    uint64_t nbytes;
    if (!CheckedMul(static_cast<uint64_t>(request.numel), itemsize, &nbytes) ||
        nbytes != entry->uncompressed_size) {
      return DataLossError("storage record '{}' has {} bytes but the pickle says {} x {}", record,
                           entry->uncompressed_size, request.numel, c10::toString(request.dtype));
    }
    ASSIGN_OR_RETURN(uint64_t offset, zip.DataOffset(*entry));
    if (request.dtype == at::kBool) {
      const uint8_t* bytes = map->data() + offset;
      for (uint64_t i = 0; i < nbytes; ++i) {
        if (bytes[i] > 1) {
          return DataLossError("storage record '{}': bool byte {} is neither 0 nor 1", record,
                               bytes[i]);
        }
      }
    }
    const int64_t sizes[] = {request.numel};
    ASSIGN_OR_RETURN(auto tensor, TensorFromMappedBytes(map, offset, nbytes, sizes, request.dtype));
    storages.emplace(request.key, CachedStorage{request.dtype, request.numel, tensor});
    return tensor;
  };

  UnpickleLimits limits;
  limits.max_copy_bytes = CopyBudget(map->size());
  auto tensors = UnpickleStateDict(pickle, load, limits);
  if (!tensors.ok()) return tensors.status().WithContext(prefix + "/data.pkl");
  return tensors;
}

}  // namespace

StatusOr<TensorMap> ReadTorchBin(const std::filesystem::path& file) {
  ASSIGN_OR_RETURN(auto map, MappedFile::Open(file));  // its errors name the file
  auto result = ParseTorchBin(map);
  if (!result.ok()) return result.status().WithContext(file.string());
  return result;
}

}  // namespace sinkscope::formats
