// Open-addressing hash maps for the large vocabularies (262k tokens, 515k merges for Gemma 3):
// std::unordered_map spent most of the load time chasing node pointers. Keys of StringIdMap
// live in one arena; PairMap keys are two 32-bit ids packed into 64 bits. Both use linear
// probing over a power-of-two table at most half full. Not thread-safe for writes; lookups on
// a built map are (read-only).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sinkscope::tokenizer {

inline uint64_t HashBytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ s.size();
  const char* p = s.data();
  size_t n = s.size();
  auto mix = [&h](uint64_t v) {
    h = (h ^ v) * 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 31;
  };
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    mix(v);
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t v = 0;
    std::memcpy(&v, p, n);
    mix(v);
  }
  h ^= h >> 29;
  h *= 0x94D049BB133111EBULL;
  h ^= h >> 32;
  return h;
}

inline uint64_t HashU64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDULL;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ULL;
  x ^= x >> 33;
  return x;
}

/// string -> int32 map. Each slot packs 32 bits of the hash with the entry index, so probing
/// rarely touches an entry that is not the key; keys of up to 8 bytes live in the entry itself
/// (most tokens), so a hit usually costs two cache misses (slot, entry) instead of three.
class StringIdMap {
 public:
  void Reserve(size_t n) {
    entries_.reserve(n);
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    Rehash(cap);
  }
  /// Inserts or overwrites (the last value for a key wins, like a HashMap collect).
  void Set(std::string_view key, int32_t value) {
    if (2 * (entries_.size() + 1) > slots_.size()) Rehash(slots_.empty() ? 16 : 2 * slots_.size());
    const uint64_t h = HashBytes(key);
    const uint64_t tag = h >> 32;
    size_t i = h & (slots_.size() - 1);
    while (slots_[i] != 0) {
      Entry& e = entries_[(slots_[i] & 0xFFFFFFFFu) - 1];
      if ((slots_[i] >> 32) == tag && KeyOf(e) == key) {
        e.value = value;
        return;
      }
      i = (i + 1) & (slots_.size() - 1);
    }
    Entry e{};
    e.len = static_cast<uint32_t>(key.size());
    e.value = value;
    if (key.size() <= 8) {
      std::memcpy(e.inline_key, key.data(), key.size());
    } else {
      const auto offset = static_cast<uint64_t>(arena_.size());
      std::memcpy(e.inline_key, &offset, sizeof(offset));
      arena_.append(key);
    }
    entries_.push_back(e);
    slots_[i] = (tag << 32) | static_cast<uint64_t>(entries_.size());
  }
  std::optional<int32_t> Find(std::string_view key) const {
    if (slots_.empty()) return std::nullopt;
    const uint64_t h = HashBytes(key);
    const uint64_t tag = h >> 32;
    size_t i = h & (slots_.size() - 1);
    while (slots_[i] != 0) {
      if ((slots_[i] >> 32) == tag) {
        const Entry& e = entries_[(slots_[i] & 0xFFFFFFFFu) - 1];
        if (KeyOf(e) == key) return e.value;
      }
      i = (i + 1) & (slots_.size() - 1);
    }
    return std::nullopt;
  }
  size_t size() const { return entries_.size(); }
  /// Calls f(key, value) for every entry in insertion order.
  template <typename F>
  void ForEach(F&& f) const {
    for (const Entry& e : entries_) f(KeyOf(e), e.value);
  }

 private:
  struct Entry {
    char inline_key[8];  // the key if len <= 8, else its offset in arena_
    uint32_t len;
    int32_t value;
  };
  std::string_view KeyOf(const Entry& e) const {
    if (e.len <= 8) return std::string_view(e.inline_key, e.len);
    uint64_t offset;
    std::memcpy(&offset, e.inline_key, sizeof(offset));
    return std::string_view(arena_).substr(offset, e.len);
  }
  void Rehash(size_t cap) {
    slots_.assign(cap, 0);
    for (size_t k = 0; k < entries_.size(); ++k) {
      const uint64_t h = HashBytes(KeyOf(entries_[k]));
      size_t i = h & (cap - 1);
      while (slots_[i] != 0) i = (i + 1) & (cap - 1);
      slots_[i] = ((h >> 32) << 32) | static_cast<uint64_t>(k + 1);
    }
  }
  std::string arena_;
  std::vector<Entry> entries_;
  std::vector<uint64_t> slots_;  // (hash >> 32) << 32 | (entry index + 1); 0 is empty
};

/// uint64 -> V map (V trivially copyable).
template <typename V>
class PairMap {
 public:
  void Reserve(size_t n) {
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    Rehash(cap);
  }
  void Set(uint64_t key, V value) {
    if (2 * (size_ + 1) > slots_.size()) Rehash(slots_.empty() ? 16 : 2 * slots_.size());
    size_t i = HashU64(key) & (slots_.size() - 1);
    while (slots_[i].used) {
      if (slots_[i].key == key) {
        slots_[i].value = value;
        return;
      }
      i = (i + 1) & (slots_.size() - 1);
    }
    slots_[i] = {key, value, true};
    ++size_;
  }
  const V* Find(uint64_t key) const {
    if (slots_.empty()) return nullptr;
    size_t i = HashU64(key) & (slots_.size() - 1);
    while (slots_[i].used) {
      if (slots_[i].key == key) return &slots_[i].value;
      i = (i + 1) & (slots_.size() - 1);
    }
    return nullptr;
  }
  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t key = 0;
    V value{};
    bool used = false;
  };
  void Rehash(size_t cap) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(cap, Slot{});
    size_ = 0;
    for (const Slot& s : old) {
      if (s.used) Set(s.key, s.value);
    }
  }
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace sinkscope::tokenizer
