#include "models/formats/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <memory>

#include <cerrno>
#include <cstring>
#include <utility>

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>

#include "core/torch_call.h"

namespace sinkscope::formats {
namespace {

Status ErrnoStatus(int err, const std::filesystem::path& path, std::string_view what) {
  std::string msg = fmt::format("{}: {}: {}", path.string(), what, std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return Status(StatusCode::kNotFound, std::move(msg));
    case EACCES:
    case EPERM:
      return Status(StatusCode::kPermissionDenied, std::move(msg));
    default:
      return Status(StatusCode::kInternal, std::move(msg));
  }
}

// Closes a file descriptor on scope exit.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

// DataPtr context deleter of tensors aliasing a map: drops one reference to the map.
void ReleaseMapping(void* ctx) {
  delete static_cast<std::shared_ptr<const MappedFile>*>(ctx);
}

}  // namespace

StatusOr<std::shared_ptr<const MappedFile>> MappedFile::Open(const std::filesystem::path& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoStatus(errno, path, "cannot open");
  FdCloser closer(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, path, "cannot stat");
  if (!S_ISREG(st.st_mode)) return InvalidArgumentError("{}: not a regular file", path.string());
  if (st.st_size < 0) return InternalError("{}: negative file size", path.string());
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size > SIZE_MAX) return ResourceExhaustedError("{}: file too large to map", path.string());
  if (size == 0) {
    return std::shared_ptr<const MappedFile>(new MappedFile(path, nullptr, 0));
  }
  void* p = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) {
    int err = errno;
    if (err == ENOMEM) {
      return ResourceExhaustedError("{}: cannot map {} bytes: {}", path.string(), size,
                                    std::strerror(err));
    }
    return ErrnoStatus(err, path, "cannot map");
  }
  return std::shared_ptr<const MappedFile>(
      new MappedFile(path, static_cast<const uint8_t*>(p), static_cast<size_t>(size)));
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

bool MappedFile::Contains(const void* p, size_t n) const {
  if (data_ == nullptr) return false;
  auto begin = reinterpret_cast<uintptr_t>(data_);
  auto q = reinterpret_cast<uintptr_t>(p);
  return q >= begin && q - begin <= size_ && n <= size_ - (q - begin);
}

StatusOr<at::Tensor> TensorFromMappedBytes(const std::shared_ptr<const MappedFile>& file,
                                           size_t offset, size_t nbytes,
                                           c10::ArrayRef<int64_t> sizes, at::ScalarType dtype) {
  auto options = at::TensorOptions().dtype(dtype).device(at::kCPU);
  const size_t itemsize = c10::elementSize(dtype);
  if (nbytes == 0) {
    return TorchCall("allocating an empty tensor", [&] { return at::empty(sizes, options); });
  }
  if (offset > file->size() || nbytes > file->size() - offset) {
    return InternalError("{}: span [{}, {}) outside the {}-byte map", file->path().string(), offset,
                         offset + nbytes, file->size());
  }
  const uint8_t* src = file->data() + offset;
  if (reinterpret_cast<uintptr_t>(src) % itemsize == 0) {
    // Zero copy: the tensor's DataPtr context keeps the map alive. The const_cast is safe
    // because the map is private copy-on-write: a stray write copies the page, never the file.
    return TorchCall("wrapping mapped bytes", [&] {
      auto* ctx = std::make_unique<std::shared_ptr<const MappedFile>>(file).release();
      return at::for_blob(const_cast<uint8_t*>(src), sizes)
          .context(ctx, &ReleaseMapping)
          .options(options)
          .make_tensor();
    });
  }
  return TorchCall("copying unaligned tensor bytes", [&] {
    at::Tensor t = at::empty(sizes, options);
    std::memcpy(t.data_ptr(), src, nbytes);
    return t;
  });
}

const MappedFile* MappingOf(const at::Tensor& tensor) {
  if (!tensor.defined() || !tensor.has_storage()) return nullptr;
  auto* ctx =
      tensor.storage().data_ptr().cast_context<std::shared_ptr<const MappedFile>>(&ReleaseMapping);
  return ctx == nullptr ? nullptr : ctx->get();
}

StatusOr<std::string> ReadFileBounded(const std::filesystem::path& path, uint64_t max_bytes) {
  ASSIGN_OR_RETURN(auto file, MappedFile::Open(path));
  if (file->size() > max_bytes) {
    return DataLossError("{}: {} bytes, more than the limit of {} bytes for this kind of file",
                         path.string(), file->size(), max_bytes);
  }
  return std::string(file->bytes());
}

}  // namespace sinkscope::formats
