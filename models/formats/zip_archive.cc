#include "models/formats/zip_archive_internal.h"

#include <array>
#include <cstring>

namespace sinkscope::formats {
namespace {

constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;

constexpr uint64_t kEocdSize = 22;
constexpr uint64_t kZip64EocdMinSize = 56;
constexpr uint64_t kZip64LocatorSize = 20;
constexpr uint64_t kCentralHeaderSize = 46;
constexpr uint64_t kLocalHeaderSize = 30;
constexpr uint64_t kMaxCommentSize = 0xFFFF;
constexpr uint16_t kZip64ExtraId = 0x0001;

constexpr uint16_t kFlagEncrypted = 1u << 0;
constexpr uint16_t kFlagStrongEncryption = 1u << 6;

uint16_t U16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
uint32_t U32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t U64(const uint8_t* p) {
  return static_cast<uint64_t>(U32(p)) | (static_cast<uint64_t>(U32(p + 4)) << 32);
}

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

// True when [offset, offset + length) lies inside a file of `size` bytes.
bool InBounds(uint64_t offset, uint64_t length, uint64_t size) {
  uint64_t end;
  return CheckedAdd(offset, length, &end) && end <= size;
}

struct EndOfCentralDirectory {
  uint64_t entries = 0;
  uint64_t cd_size = 0;
  uint64_t cd_offset = 0;
  uint64_t cd_limit = 0;  // the central directory must end at or before this offset
};

StatusOr<EndOfCentralDirectory> FindEndOfCentralDirectory(const MappedFile& file) {
  const uint8_t* data = file.data();
  const uint64_t size = file.size();
  if (size < kEocdSize) {
    return DataLossError("{} bytes is too short for a zip archive (truncated?)", size);
  }
  // The EOCD record is followed only by its comment (at most 64 KiB); scan backwards.
  const uint64_t lowest =
      size - kEocdSize > kMaxCommentSize ? size - kEocdSize - kMaxCommentSize : 0;
  uint64_t pos = size - kEocdSize;
  for (;; --pos) {
    if (U32(data + pos) == kEocdSig && pos + kEocdSize + U16(data + pos + 20) <= size) break;
    if (pos == lowest) {
      return DataLossError("no zip end-of-central-directory record (truncated archive?)");
    }
  }
  const uint8_t* e = data + pos;
  const uint16_t disk = U16(e + 4);
  const uint16_t cd_disk = U16(e + 6);
  EndOfCentralDirectory eocd;
  eocd.entries = U16(e + 10);
  eocd.cd_size = U32(e + 12);
  eocd.cd_offset = U32(e + 16);
  eocd.cd_limit = pos;
  // 0xFFFF means "see the zip64 record"; anything else but 0 is a multi-disk archive.
  if ((disk != 0 && disk != 0xFFFF) || (cd_disk != 0 && cd_disk != 0xFFFF)) {
    return UnimplementedError("multi-disk zip archives are not supported");
  }

  // A zip64 locator sits immediately before the EOCD record when the archive needs zip64.
  if (pos >= kZip64LocatorSize && U32(data + pos - kZip64LocatorSize) == kZip64LocatorSig) {
    const uint8_t* loc = data + pos - kZip64LocatorSize;
    const uint64_t record = U64(loc + 8);
    if (U32(loc + 4) != 0 || U32(loc + 16) > 1) {
      return UnimplementedError("multi-disk zip64 archives are not supported");
    }
    if (!InBounds(record, kZip64EocdMinSize, pos - kZip64LocatorSize) ||
        U32(data + record) != kZip64EocdSig) {
      return DataLossError(
          "zip64 end-of-central-directory record at {} is missing or outside "
          "the file",
          record);
    }
    const uint8_t* z = data + record;
    if (U32(z + 16) != 0 || U32(z + 20) != 0 || U64(z + 24) != U64(z + 32)) {
      return UnimplementedError("multi-disk zip64 archives are not supported");
    }
    eocd.entries = U64(z + 32);
    eocd.cd_size = U64(z + 40);
    eocd.cd_offset = U64(z + 48);
    eocd.cd_limit = record;
  }
  if (!InBounds(eocd.cd_offset, eocd.cd_size, eocd.cd_limit)) {
    return DataLossError("central directory [{}, +{}) lies outside the archive (size {})",
                         eocd.cd_offset, eocd.cd_size, size);
  }
  if (eocd.entries > kMaxZipEntries) {
    return DataLossError("zip archive claims {} entries, more than the limit {}", eocd.entries,
                         kMaxZipEntries);
  }
  if (eocd.entries > eocd.cd_size / kCentralHeaderSize) {
    return DataLossError(
        "zip archive claims {} entries but its central directory has only {} "
        "bytes",
        eocd.entries, eocd.cd_size);
  }
  return eocd;
}

// Applies the zip64 extended information extra field: each saturated 32-bit field of the record
// is replaced, in the fixed order uncompressed, compressed, local header offset.
Status ApplyZip64Extra(const uint8_t* extra, uint16_t extra_len, ZipEntry* entry) {
  const bool need_uncompressed = entry->uncompressed_size == 0xFFFFFFFFu;
  const bool need_compressed = entry->compressed_size == 0xFFFFFFFFu;
  const bool need_offset = entry->local_header_offset == 0xFFFFFFFFu;
  if (!need_uncompressed && !need_compressed && !need_offset) return OkStatus();
  uint32_t pos = 0;
  while (pos + 4 <= extra_len) {
    const uint16_t id = U16(extra + pos);
    const uint16_t len = U16(extra + pos + 2);
    pos += 4;
    if (pos + len > extra_len) break;
    if (id == kZip64ExtraId) {
      const uint8_t* f = extra + pos;
      uint32_t used = 0;
      auto take = [&](uint64_t* out) {
        if (used + 8 > len) return false;
        *out = U64(f + used);
        used += 8;
        return true;
      };
      if ((need_uncompressed && !take(&entry->uncompressed_size)) ||
          (need_compressed && !take(&entry->compressed_size)) ||
          (need_offset && !take(&entry->local_header_offset))) {
        return DataLossError("zip entry '{}': zip64 extra field too short", entry->name);
      }
      return OkStatus();
    }
    pos += len;
  }
  return DataLossError("zip entry '{}': 32-bit size or offset saturated but no zip64 extra field",
                       entry->name);
}

}  // namespace

uint32_t Crc32(std::string_view bytes) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : bytes) c = kCrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

StatusOr<ZipArchive> ZipArchive::Open(std::shared_ptr<const MappedFile> file) {
  ASSIGN_OR_RETURN(auto eocd, FindEndOfCentralDirectory(*file));
  ZipArchive archive(std::move(file));
  const uint8_t* data = archive.file_->data();
  const uint64_t cd_end = eocd.cd_offset + eocd.cd_size;  // in bounds, checked above
  archive.entries_.reserve(eocd.entries);
  uint64_t pos = eocd.cd_offset;
  for (uint64_t i = 0; i < eocd.entries; ++i) {
    if (!InBounds(pos, kCentralHeaderSize, cd_end) || U32(data + pos) != kCentralHeaderSig) {
      return DataLossError("zip central directory record {} at offset {} is corrupt", i, pos);
    }
    const uint8_t* h = data + pos;
    const uint16_t name_len = U16(h + 28);
    const uint16_t extra_len = U16(h + 30);
    const uint16_t comment_len = U16(h + 32);
    const uint64_t variable = uint64_t{name_len} + extra_len + comment_len;
    if (!InBounds(pos + kCentralHeaderSize, variable, cd_end)) {
      return DataLossError("zip central directory record {} overruns the directory", i);
    }
    ZipEntry entry;
    entry.flags = U16(h + 8);
    entry.method = U16(h + 10);
    entry.crc32 = U32(h + 16);
    entry.compressed_size = U32(h + 20);
    entry.uncompressed_size = U32(h + 24);
    entry.local_header_offset = U32(h + 42);
    entry.name.assign(reinterpret_cast<const char*>(h + kCentralHeaderSize), name_len);
    RETURN_IF_ERROR(ApplyZip64Extra(h + kCentralHeaderSize + name_len, extra_len, &entry));
    if (!InBounds(entry.local_header_offset, kLocalHeaderSize, eocd.cd_offset)) {
      return DataLossError("zip entry '{}': local header offset {} outside the archive", entry.name,
                           entry.local_header_offset);
    }
    archive.entries_.push_back(std::move(entry));
    pos += kCentralHeaderSize + variable;
  }
  for (size_t i = 0; i < archive.entries_.size(); ++i) {
    const auto& name = archive.entries_[i].name;
    if (!archive.by_name_.emplace(name, i).second) {
      return DataLossError("zip archive has two entries named '{}'", name);
    }
  }
  return archive;
}

const ZipEntry* ZipArchive::Find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

StatusOr<uint64_t> ZipArchive::DataOffset(const ZipEntry& entry) const {
  if (entry.flags & (kFlagEncrypted | kFlagStrongEncryption)) {
    return UnimplementedError("zip entry '{}' is encrypted", entry.name);
  }
  if (entry.method != 0) {
    return UnimplementedError(
        "zip entry '{}' is compressed (method {}); only stored entries (as torch.save writes "
        "them) are supported",
        entry.name, entry.method);
  }
  if (entry.compressed_size != entry.uncompressed_size) {
    return DataLossError("zip entry '{}' is stored but its sizes differ ({} vs {})", entry.name,
                         entry.compressed_size, entry.uncompressed_size);
  }
  const uint8_t* data = file_->data();
  const uint64_t size = file_->size();
  const uint64_t pos = entry.local_header_offset;  // header in bounds, checked in Open
  if (U32(data + pos) != kLocalHeaderSig) {
    return DataLossError("zip entry '{}': no local header at offset {}", entry.name, pos);
  }
  const uint16_t name_len = U16(data + pos + 26);
  const uint16_t extra_len = U16(data + pos + 28);
  const uint64_t data_offset = pos + kLocalHeaderSize + name_len + extra_len;
  if (!InBounds(pos + kLocalHeaderSize, name_len, size) ||
      std::string_view(reinterpret_cast<const char*>(data + pos + kLocalHeaderSize), name_len) !=
          entry.name) {
    return DataLossError("zip entry '{}': local header names a different file", entry.name);
  }
  if (!InBounds(data_offset, entry.compressed_size, size)) {
    return DataLossError(
        "zip entry '{}': data [{}, +{}) extends past the end of the archive "
        "({} bytes; truncated?)",
        entry.name, data_offset, entry.compressed_size, size);
  }
  return data_offset;
}

StatusOr<std::string_view> ZipArchive::Read(const ZipEntry& entry, bool verify_crc) const {
  ASSIGN_OR_RETURN(uint64_t offset, DataOffset(entry));
  std::string_view bytes = file_->bytes().substr(offset, entry.compressed_size);
  if (verify_crc) {
    const uint32_t crc = Crc32(bytes);
    if (crc != entry.crc32) {
      return DataLossError("zip entry '{}': CRC-32 {:08x} does not match the recorded {:08x}",
                           entry.name, crc, entry.crc32);
    }
  }
  return bytes;
}

}  // namespace sinkscope::formats
