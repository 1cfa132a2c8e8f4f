// A minimal reader of zip archives as torch.save writes them: the central directory (with zip64
// extensions) and STORED entries only, read in place from a memory map.
//
// Reference: PKWARE APPNOTE.TXT 6.3.x, sections 4.3.7 (local file header), 4.3.12 (central
// directory header), 4.3.14-4.3.16 (zip64 end of central directory record and locator, end of
// central directory record) and 4.5.3 (zip64 extended information extra field). torch.save
// (caffe2/serialize/inline_container.cc, via miniz) writes every record uncompressed and pads
// the local extra field so data is 64-byte aligned.
//
// Every offset and length read from the file is checked against the file size with checked
// arithmetic before use. Compressed or encrypted entries are UNIMPLEMENTED when read; multi-disk
// archives are UNIMPLEMENTED; anything inconsistent is DATA_LOSS.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "models/formats/mapped_file.h"

namespace sinkscope::formats {

/// One central directory record.
struct ZipEntry {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = 0;  ///< 0 = stored
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
};

/// Most entries accepted in one archive (a state dict has one storage per tensor or fewer).
inline constexpr uint64_t kMaxZipEntries = 1u << 20;

class ZipArchive {
 public:
  /// Parses the end-of-central-directory records and the central directory of `file`.
  static StatusOr<ZipArchive> Open(std::shared_ptr<const MappedFile> file);

  const std::vector<ZipEntry>& entries() const { return entries_; }

  /// The entry named exactly `name`, or nullptr.
  const ZipEntry* Find(std::string_view name) const;

  /// Byte offset of the entry's data in the file, after checking its local header against the
  /// central directory and the file bounds. UNIMPLEMENTED for compressed/encrypted entries.
  StatusOr<uint64_t> DataOffset(const ZipEntry& entry) const;

  /// The entry's bytes (a view into the map). With `verify_crc`, also checks the CRC-32.
  StatusOr<std::string_view> Read(const ZipEntry& entry, bool verify_crc) const;

  const std::shared_ptr<const MappedFile>& file() const { return file_; }

 private:
  explicit ZipArchive(std::shared_ptr<const MappedFile> file) : file_(std::move(file)) {}

  std::shared_ptr<const MappedFile> file_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> by_name_;
};

/// CRC-32 (ISO 3309 / zip polynomial 0xEDB88320) of `bytes`.
uint32_t Crc32(std::string_view bytes);

}  // namespace sinkscope::formats
