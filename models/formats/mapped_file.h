// A private (copy-on-write) memory map of a whole file, shared by the tensors that alias it.
//
// Checkpoint readers map the file once and hand out tensors whose storage points into the map;
// each such tensor's DataPtr holds a std::shared_ptr<const MappedFile> as its context, so the map
// lives as long as any tensor refers to it. Pages are mapped MAP_PRIVATE with write access:
// model code never writes weights in place, and if it ever did, the write would copy that page
// in memory instead of crashing or touching the file.
//
// Pitfall: if another process truncates the file while it is mapped, touching the lost pages
// raises SIGBUS. Checkpoints are not rewritten in place by the tools we know of (huggingface_hub
// writes a new blob and renames), so we accept that risk rather than copy every weight.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include "core/status.h"

namespace sinkscope::formats {

class MappedFile {
 public:
  /// Maps `path` privately (copy-on-write; the file is never modified). NOT_FOUND (no such file),
  /// PERMISSION_DENIED, INVALID_ARGUMENT (not a regular file), INTERNAL (other OS errors). An empty
  /// file gives an empty map.
  static StatusOr<std::shared_ptr<const MappedFile>> Open(const std::filesystem::path& path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::string_view bytes() const { return {reinterpret_cast<const char*>(data_), size_}; }
  const std::filesystem::path& path() const { return path_; }

  /// True when [p, p + n) lies inside the map.
  bool Contains(const void* p, size_t n) const;

 private:
  MappedFile(std::filesystem::path path, const uint8_t* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}

  std::filesystem::path path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

/// A CPU tensor of `sizes` (contiguous) whose storage is `nbytes` at `offset` in `file`. It
/// aliases the map when the address is aligned to the element size (checked here) and copies the
/// bytes otherwise. The caller has already checked that the span lies inside the map and that
/// numel × itemsize equals the span. Errors come from libtorch (allocation of the copy).
StatusOr<at::Tensor> TensorFromMappedBytes(const std::shared_ptr<const MappedFile>& file,
                                           size_t offset, size_t nbytes,
                                           c10::ArrayRef<int64_t> sizes, at::ScalarType dtype);

/// The map a tensor's storage aliases, or nullptr when the tensor owns its memory. For tests and
/// for callers that must know whether writing is allowed.
const MappedFile* MappingOf(const at::Tensor& tensor);

/// Reads a whole (small) file such as an index or config JSON. NOT_FOUND if it does not exist;
/// DATA_LOSS naming the limit if it is larger than `max_bytes`.
StatusOr<std::string> ReadFileBounded(const std::filesystem::path& path, uint64_t max_bytes);

/// Multiplies non-negative int64 values; false on overflow.
inline bool CheckedMul(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}
inline bool CheckedAdd(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}

}  // namespace sinkscope::formats
