// safetensors reader and writer.
//
// Format (https://github.com/huggingface/safetensors, README "Format"): an 8-byte little-endian
// u64 N, N bytes of UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]}, optional
// "__metadata__": {str: str}}, then the data buffer; offsets are relative to its start.
//
// The reader applies the safetensors crate's validation (header bound, offsets sorted,
// non-overlapping and covering the buffer exactly) plus llama.cpp's bounds test with checked
// arithmetic, in the order listed in STYLE.md §4. Tensors alias the file's memory map when their
// address is aligned to the element size.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <string_view>

#include <ATen/ATen.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/torch_call.h"
#include "models/formats/checkpoint.h"
#include "models/formats/mapped_file.h"

namespace sinkscope::formats {
namespace {

static_assert(std::endian::native == std::endian::little,
              "checkpoint readers assume a little-endian host");

// Tensors of higher rank do not occur in checkpoints; the bound keeps shape vectors small.
constexpr size_t kMaxRank = 64;

struct DtypeName {
  std::string_view name;
  at::ScalarType type;
};

// The safetensors dtypes we accept (names from the safetensors crate's Dtype enum).
constexpr DtypeName kDtypes[] = {
    {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf},  {"BF16", at::kBFloat16},
    {"I64", at::kLong},   {"I32", at::kInt},   {"I16", at::kShort}, {"I8", at::kChar},
    {"U8", at::kByte},    {"BOOL", at::kBool},
};
constexpr std::string_view kSupportedDtypes = "F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL";

std::optional<at::ScalarType> DtypeFromName(std::string_view name) {
  for (const auto& d : kDtypes) {
    if (d.name == name) return d.type;
  }
  return std::nullopt;
}

std::optional<std::string_view> NameFromDtype(at::ScalarType type) {
  for (const auto& d : kDtypes) {
    if (d.type == type) return d.name;
  }
  return std::nullopt;
}

// One validated header entry.
struct Entry {
  std::string name;
  at::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin;
  uint64_t end;
};

StatusOr<std::vector<int64_t>> ParseShape(const std::string& name, const nlohmann::json& entry) {
  auto it = entry.find("shape");
  if (it == entry.end() || !it->is_array()) {
    return DataLossError("'{}': missing shape (want an array of non-negative integers)", name);
  }
  if (it->size() > kMaxRank) {
    return DataLossError("'{}': shape has {} dimensions, more than the limit {}", name, it->size(),
                         kMaxRank);
  }
  std::vector<int64_t> shape;
  shape.reserve(it->size());
  for (const auto& dim : *it) {
    // nlohmann stores every non-negative integer literal as number_unsigned.
    if (!dim.is_number_unsigned() ||
        dim.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return DataLossError("'{}': shape {} is not an array of non-negative integers", name,
                           it->dump());
    }
    shape.push_back(static_cast<int64_t>(dim.get<uint64_t>()));
  }
  return shape;
}

// numel of a shape, or nullopt when the product of its non-zero dimensions overflows int64 (such
// a shape cannot be a libtorch tensor even when another dimension is zero).
std::optional<uint64_t> CheckedNumel(const std::vector<int64_t>& shape) {
  uint64_t product = 1;
  bool has_zero = false;
  for (int64_t d : shape) {
    if (d == 0) {
      has_zero = true;
      continue;
    }
    if (!CheckedMul(product, static_cast<uint64_t>(d), &product) ||
        product > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return std::nullopt;
    }
  }
  return has_zero ? 0 : product;
}

StatusOr<Entry> ParseEntry(const std::string& name, const nlohmann::json& value,
                           uint64_t data_size) {
  if (!value.is_object()) {
    return DataLossError("'{}': header entry is a JSON {}, not an object", name, value.type_name());
  }
  auto dtype_it = value.find("dtype");
  if (dtype_it == value.end() || !dtype_it->is_string()) {
    return DataLossError("'{}': missing or non-string dtype", name);
  }
  const auto& dtype_name = dtype_it->get_ref<const std::string&>();
  auto dtype = DtypeFromName(dtype_name);
  if (!dtype) {
    return UnimplementedError("'{}': dtype '{}' is not supported (supported: {})", name, dtype_name,
                              kSupportedDtypes);
  }
  ASSIGN_OR_RETURN(auto shape, ParseShape(name, value));

  auto off_it = value.find("data_offsets");
  if (off_it == value.end() || !off_it->is_array() || off_it->size() != 2 ||
      !(*off_it)[0].is_number_unsigned() || !(*off_it)[1].is_number_unsigned()) {
    return DataLossError("'{}': data_offsets must be two non-negative integers [begin, end]", name);
  }
  const auto begin = (*off_it)[0].get<uint64_t>();
  const auto end = (*off_it)[1].get<uint64_t>();
  if (begin > end) {
    return DataLossError("'{}': data_offsets [{},{}) has begin > end", name, begin, end);
  }

  auto numel = CheckedNumel(shape);
  const uint64_t itemsize = c10::elementSize(*dtype);
  uint64_t nbytes = 0;
  if (!numel || !CheckedMul(*numel, itemsize, &nbytes)) {
    return DataLossError("'{}': shape {} of {} overflows", name, fmt::join(shape, ","), dtype_name);
  }
  if (nbytes != end - begin) {
    return DataLossError("'{}': shape [{}] of {} needs {} bytes but data_offsets [{},{}) span {}",
                         name, fmt::join(shape, ","), dtype_name, nbytes, begin, end, end - begin);
  }
  if (end > data_size) {
    return DataLossError("'{}': data_offsets [{},{}) exceed data size {}", name, begin, end,
                         data_size);
  }
  return Entry{name, *dtype, std::move(shape), begin, end};
}

Status CheckMetadata(const nlohmann::json& metadata) {
  if (!metadata.is_object()) {
    return DataLossError("__metadata__ is a JSON {}, not an object", metadata.type_name());
  }
  for (const auto& [key, value] : metadata.items()) {
    if (!value.is_string()) {
      return DataLossError("__metadata__ '{}' is a JSON {}, not a string", key, value.type_name());
    }
  }
  return OkStatus();
}

// Offsets sorted, non-overlapping and covering [0, data_size) exactly (the safetensors crate's
// rule: no hidden bytes between or after tensors).
Status CheckCoverage(std::vector<const Entry*> entries, uint64_t data_size) {
  std::sort(entries.begin(), entries.end(), [](const Entry* a, const Entry* b) {
    return std::tie(a->begin, a->end) < std::tie(b->begin, b->end);
  });
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry* e : entries) {
    if (e->begin < covered) {
      return DataLossError("'{}': data_offsets [{},{}) overlap '{}' at [{},{})", e->name, e->begin,
                           e->end, previous->name, previous->begin, previous->end);
    }
    if (e->begin > covered) {
      return DataLossError("gap in the data: bytes [{},{}) before '{}' belong to no tensor",
                           covered, e->begin, e->name);
    }
    covered = e->end;
    if (e->end > e->begin) previous = e;
  }
  if (covered != data_size) {
    return DataLossError("gap in the data: bytes [{},{}) at the end belong to no tensor", covered,
                         data_size);
  }
  return OkStatus();
}

Status ParseHeaderJson(std::string_view header, nlohmann::json* out) {
  // Duplicate top-level keys would silently shadow each other in nlohmann's object; catch them
  // in the parser callback (depth 1 = keys of the top-level object).
  std::optional<std::string> duplicate;
  std::set<std::string> seen;
  auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (depth == 1 && event == nlohmann::json::parse_event_t::key && !duplicate) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!seen.insert(key).second) duplicate = key;
    }
    return true;
  };
  try {
    *out = nlohmann::json::parse(header.begin(), header.end(), callback);
  } catch (const nlohmann::json::exception& e) {
    return DataLossError("header is not valid JSON: {}", e.what());
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory parsing a {}-byte header", header.size());
  }
  if (!out->is_object()) {
    return DataLossError("header is a JSON {}, not an object", out->type_name());
  }
  if (duplicate) return DataLossError("duplicate tensor name '{}' in header", *duplicate);
  return OkStatus();
}

StatusOr<TensorMap> ParseSafetensors(const std::shared_ptr<const MappedFile>& map) {
  const uint64_t file_size = map->size();
  if (file_size < 8) {
    return DataLossError("file is {} bytes, too short for the 8-byte header length", file_size);
  }
  uint64_t header_size;
  std::memcpy(&header_size, map->data(), sizeof(header_size));  // little-endian host
  if (header_size > kMaxSafetensorsHeaderBytes) {
    return DataLossError("header length {} exceeds the limit of {} bytes", header_size,
                         kMaxSafetensorsHeaderBytes);
  }
  uint64_t data_start;
  if (!CheckedAdd(8, header_size, &data_start) || data_start > file_size) {
    return DataLossError("header length {} exceeds the file size {} (truncated file?)", header_size,
                         file_size);
  }
  const uint64_t data_size = file_size - data_start;

  nlohmann::json header;
  RETURN_IF_ERROR(ParseHeaderJson(map->bytes().substr(8, header_size), &header));

  std::vector<Entry> entries;
  entries.reserve(header.size());
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      RETURN_IF_ERROR(CheckMetadata(value));
      continue;
    }
    ASSIGN_OR_RETURN(auto entry, ParseEntry(name, value, data_size));
    entries.push_back(std::move(entry));
  }
  std::vector<const Entry*> pointers;
  pointers.reserve(entries.size());
  for (const auto& e : entries) pointers.push_back(&e);
  RETURN_IF_ERROR(CheckCoverage(std::move(pointers), data_size));

  TensorMap tensors;
  for (const auto& e : entries) {
    const uint64_t nbytes = e.end - e.begin;
    const uint8_t* bytes = map->data() + data_start + e.begin;
    if (e.dtype == at::kBool) {
      // libtorch assumes bool bytes are 0 or 1; anything else is corruption.
      for (uint64_t i = 0; i < nbytes; ++i) {
        if (bytes[i] > 1) {
          return DataLossError("'{}': BOOL byte {} at element {} is neither 0 nor 1", e.name,
                               bytes[i], i);
        }
      }
    }
    auto tensor = TensorFromMappedBytes(map, data_start + e.begin, nbytes, e.shape, e.dtype);
    if (!tensor.ok()) return tensor.status().WithContext(fmt::format("'{}'", e.name));
    tensors.emplace(e.name, std::move(tensor).value());
  }
  return tensors;
}

// ---------------------------------------------------------------------------------------------
// Writer

Status WriteAll(int fd, const void* data, size_t n, const std::filesystem::path& path) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, std::min<size_t>(n, size_t{1} << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      return InternalError("{}: write failed: {}", path.string(), std::strerror(errno));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return OkStatus();
}

// A file created next to the destination and renamed over it on Commit(); removed if not
// committed, so a failed write leaves nothing behind.
class TempFile {
 public:
  static StatusOr<std::unique_ptr<TempFile>> Create(const std::filesystem::path& dest) {
    std::random_device rd;
    const auto dir = dest.parent_path().empty() ? std::filesystem::path(".") : dest.parent_path();
    for (int attempt = 0; attempt < 16; ++attempt) {
      auto path =
          dir / fmt::format(".{}.tmp-{}-{:08x}", dest.filename().string(), ::getpid(), rd());
      // Mode 0666 so the umask decides, as for any other file the user writes.
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd >= 0) return std::unique_ptr<TempFile>(new TempFile(std::move(path), dest, fd));
      if (errno != EEXIST) {
        int err = errno;
        auto code = err == ENOENT || err == ENOTDIR ? StatusCode::kNotFound
                    : err == EACCES || err == EPERM ? StatusCode::kPermissionDenied
                                                    : StatusCode::kInternal;
        return Status(code, fmt::format("{}: cannot create a temporary file in {}: {}",
                                        dest.string(), dir.string(), std::strerror(err)));
      }
    }
    return InternalError("{}: could not pick a unique temporary file name", dest.string());
  }

  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  Status Write(const void* data, size_t n) { return WriteAll(fd_, data, n, path_); }

  Status Commit() {
    if (::fsync(fd_) != 0) {
      return InternalError("{}: fsync failed: {}", path_.string(), std::strerror(errno));
    }
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) return InternalError("{}: close failed: {}", path_.string(), std::strerror(errno));
    if (::rename(path_.c_str(), dest_.c_str()) != 0) {
      return InternalError("{}: rename from {} failed: {}", dest_.string(), path_.string(),
                           std::strerror(errno));
    }
    committed_ = true;
    return OkStatus();
  }

 private:
  TempFile(std::filesystem::path path, std::filesystem::path dest, int fd)
      : path_(std::move(path)), dest_(std::move(dest)), fd_(fd) {}

  std::filesystem::path path_;
  std::filesystem::path dest_;
  int fd_;
  bool committed_ = false;
};

}  // namespace

StatusOr<TensorMap> ReadSafetensors(const std::filesystem::path& file) {
  ASSIGN_OR_RETURN(auto map, MappedFile::Open(file));  // its errors name the file
  auto result = ParseSafetensors(map);
  if (!result.ok()) return result.status().WithContext(file.string());
  return result;
}

Status WriteSafetensors(const std::filesystem::path& file,
                        const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  // Validate and bring every tensor to contiguous CPU memory before touching the file system.
  std::set<std::string_view> names;
  std::vector<at::Tensor> cpu;
  std::vector<std::string_view> dtype_names;
  cpu.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") {
      return InvalidArgumentError("{}: '__metadata__' is reserved, not a tensor name",
                                  file.string());
    }
    if (!names.insert(name).second) {
      return InvalidArgumentError("{}: duplicate tensor name '{}'", file.string(), name);
    }
    if (!tensor.defined()) {
      return InvalidArgumentError("{}: '{}' is an undefined tensor", file.string(), name);
    }
    auto dtype_name = NameFromDtype(tensor.scalar_type());
    if (!dtype_name) {
      return UnimplementedError("{}: '{}': dtype {} cannot be written (supported: {})",
                                file.string(), name, c10::toString(tensor.scalar_type()),
                                kSupportedDtypes);
    }
    dtype_names.push_back(*dtype_name);
    ASSIGN_OR_RETURN(auto t, TorchCall(fmt::format("{}: '{}'", file.string(), name),
                                       [&] { return tensor.to(at::kCPU).contiguous(); }));
    cpu.push_back(std::move(t));
  }

  // The data buffer is laid out by decreasing element size (stable), as the safetensors Python
  // library does, so every tensor starts aligned to its element size and the reader can alias the
  // map. The header keeps the caller's order.
  std::vector<size_t> layout(cpu.size());
  for (size_t i = 0; i < layout.size(); ++i) layout[i] = i;
  std::stable_sort(layout.begin(), layout.end(), [&](size_t a, size_t b) {
    return cpu[a].element_size() > cpu[b].element_size();
  });
  std::vector<uint64_t> begin(cpu.size());
  uint64_t offset = 0;
  for (size_t i : layout) {
    begin[i] = offset;
    offset += cpu[i].nbytes();
  }

  std::string header;
  try {
    nlohmann::ordered_json json = nlohmann::ordered_json::object();
    if (!metadata.empty()) json["__metadata__"] = metadata;
    for (size_t i = 0; i < cpu.size(); ++i) {
      json[tensors[i].first] = {
          {"dtype", dtype_names[i]},
          {"shape", cpu[i].sizes().vec()},
          {"data_offsets", {begin[i], begin[i] + cpu[i].nbytes()}},
      };
    }
    header = json.dump();
  } catch (const nlohmann::json::exception& e) {
    // dump() throws on strings that are not UTF-8.
    return InvalidArgumentError("{}: cannot write header: {}", file.string(), e.what());
  }
  // Pad with spaces (valid JSON whitespace) so the data buffer starts 8-byte aligned.
  header.append((8 - header.size() % 8) % 8, ' ');
  const uint64_t header_size = header.size();

  ASSIGN_OR_RETURN(auto temp, TempFile::Create(file));
  RETURN_IF_ERROR(temp->Write(&header_size, sizeof(header_size)));
  RETURN_IF_ERROR(temp->Write(header.data(), header.size()));
  for (size_t i : layout) {
    if (cpu[i].nbytes() == 0) continue;
    RETURN_IF_ERROR(temp->Write(cpu[i].data_ptr(), cpu[i].nbytes()));
  }
  return temp->Commit();
}

}  // namespace sinkscope::formats
