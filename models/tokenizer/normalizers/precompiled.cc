// Normalizer Precompiled (tokenizers/src/normalizers/precompiled.rs with the spm_precompiled
// crate): SentencePiece's compiled character map. The blob is base64 of
//   u32 little-endian trie_size (bytes) | trie_size/4 u32 units of a Darts double-array trie |
//   NUL-separated replacement strings;
// a trie value is the byte offset of a replacement string. Text is processed per extended
// grapheme cluster: a cluster shorter than 6 bytes is looked up whole first (the first, i.e.
// shortest, prefix match wins, as in spm_precompiled), otherwise or failing that each character
// is looked up on its own.
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"

namespace sinkscope::tokenizer {
namespace {

StatusOr<std::string> DecodeBase64(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < in.size() && in[i] != '='; ++i) {
    const int v = value(in[i]);
    if (v < 0) return InvalidArgumentError("precompiled_charsmap: bad base64 at {}", i);
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  for (; i < in.size(); ++i) {
    if (in[i] != '=') return InvalidArgumentError("precompiled_charsmap: bad base64 padding");
  }
  return out;
}

uint32_t ReadLe32(std::string_view s, size_t at) {
  uint32_t v = 0;
  for (size_t k = 0; k < 4; ++k)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(s[at + k])) << (8 * k);
  return v;
}

class PrecompiledNormalizer : public Normalizer {
 public:
  PrecompiledNormalizer(std::vector<uint32_t> trie, std::string normalized)
      : trie_(std::move(trie)), normalized_(std::move(normalized)) {}

  void Normalize(NormalizedString* s) const override {
    const std::string& text = s->get();
    std::vector<CharChange> dest;
    dest.reserve(text.size());
    bool modified = false;
    const std::vector<size_t> bounds = GraphemeBoundaries(text);
    for (size_t g = 0; g + 1 < bounds.size(); ++g) {
      const std::string_view grapheme(text.data() + bounds[g], bounds[g + 1] - bounds[g]);
      if (grapheme.size() < 6) {
        if (auto norm = Transform(grapheme)) {
          modified = true;
          Replace(&dest, grapheme, *norm);
          continue;
        }
      }
      for (size_t i = 0; i < grapheme.size();) {
        size_t n;
        const char32_t c = DecodeUtf8(grapheme, i, &n);
        const std::string_view part = grapheme.substr(i, n);
        i += n;
        if (auto norm = Transform(part)) {
          modified = true;
          Replace(&dest, part, *norm);
        } else {
          dest.push_back({c, 0});
        }
      }
    }
    if (modified) s->Transform(dest, 0);
  }

 private:
  // Darts unit accessors.
  static bool HasLeaf(uint32_t u) { return ((u >> 8) & 1) == 1; }
  static uint32_t Value(uint32_t u) { return u & ((1u << 31) - 1); }
  static uint32_t Label(uint32_t u) { return u & ((1u << 31) | 0xFF); }
  static uint32_t Offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

  // The replacement for the shortest prefix of `key` in the trie (spm_precompiled takes
  // results[0] of common_prefix_search).
  std::optional<std::string_view> Transform(std::string_view key) const {
    if (trie_.empty()) return std::nullopt;
    size_t node = 0;
    uint32_t unit = trie_[0];
    node ^= Offset(unit);
    for (const char ch : key) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == 0) break;
      node ^= c;
      if (node >= trie_.size()) return std::nullopt;
      unit = trie_[node];
      if (Label(unit) != c) return std::nullopt;
      node ^= Offset(unit);
      if (node >= trie_.size()) return std::nullopt;
      if (HasLeaf(unit)) {
        const size_t index = Value(trie_[node]);
        if (index >= normalized_.size()) return std::nullopt;
        const size_t stop = normalized_.find('\0', index);
        return std::string_view(normalized_)
            .substr(index, (stop == std::string::npos ? normalized_.size() : stop) - index);
      }
    }
    return std::nullopt;
  }

  // spm_precompiled's replace(): the new characters with change 0; extra ones +1 at the end;
  // fewer: the last pushed character carries the difference.
  static void Replace(std::vector<CharChange>* dest, std::string_view old_part,
                      std::string_view new_part) {
    const std::u32string old_chars = ToCodePoints(old_part);
    const std::u32string new_chars = ToCodePoints(new_part);
    const int64_t diff =
        static_cast<int64_t>(new_chars.size()) - static_cast<int64_t>(old_chars.size());
    for (const char32_t c : new_chars) dest->push_back({c, 0});
    if (diff > 0) {
      for (int64_t k = 0; k < diff && static_cast<size_t>(k) < dest->size(); ++k) {
        (*dest)[dest->size() - 1 - static_cast<size_t>(k)].change = 1;
      }
    } else if (diff < 0 && !dest->empty()) {
      dest->back().change += diff;
    }
  }

  std::vector<uint32_t> trie_;
  std::string normalized_;
};

}  // namespace

StatusOr<NormalizerPtr> MakePrecompiledNormalizer(const json& j) {
  ASSIGN_OR_RETURN(const std::string b64, GetString(j, "precompiled_charsmap", ""));
  ASSIGN_OR_RETURN(const std::string blob, DecodeBase64(b64));
  if (blob.empty()) {
    // An empty map normalizes nothing (HF accepts it too).
    return NormalizerPtr(std::make_unique<PrecompiledNormalizer>(std::vector<uint32_t>{}, ""));
  }
  if (blob.size() < 4) return InvalidArgumentError("precompiled_charsmap shorter than 4 bytes");
  const uint32_t trie_size = ReadLe32(blob, 0);
  if (trie_size / 4 > (blob.size() - 4) / 4) {
    return InvalidArgumentError("precompiled_charsmap: trie size {} exceeds the blob ({} bytes)",
                                trie_size, blob.size());
  }
  std::vector<uint32_t> trie(trie_size / 4);
  for (size_t i = 0; i < trie.size(); ++i) {
    trie[i] = ReadLe32(blob, 4 + 4 * i);
  }
  std::string normalized = blob.substr(4 + 4 * trie.size());
  RETURN_IF_ERROR(ValidateUtf8(normalized).WithContext("precompiled_charsmap strings"));
  return NormalizerPtr(
      std::make_unique<PrecompiledNormalizer>(std::move(trie), std::move(normalized)));
}

}  // namespace sinkscope::tokenizer
