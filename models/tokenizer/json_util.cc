// JSON field helpers, split patterns from JSON, the GPT-2 byte table (components_internal.h).
#include <array>
#include <nlohmann/json.hpp>

#include "models/tokenizer/components_internal.h"
#include "models/tokenizer/regex_internal.h"

namespace sinkscope::tokenizer {

namespace {
const json* Find(const json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}
}  // namespace

StatusOr<bool> GetBool(const json& j, std::string_view key, bool def) {
  const json* v = Find(j, key);
  if (v == nullptr) return def;
  if (!v->is_boolean()) return InvalidArgumentError("field '{}' must be a boolean", key);
  return v->get<bool>();
}

StatusOr<std::string> GetString(const json& j, std::string_view key, std::string_view def) {
  const json* v = Find(j, key);
  if (v == nullptr) return std::string(def);
  if (!v->is_string()) return InvalidArgumentError("field '{}' must be a string", key);
  return v->get<std::string>();
}

StatusOr<std::string> RequireString(const json& j, std::string_view key) {
  const json* v = Find(j, key);
  if (v == nullptr) return InvalidArgumentError("missing field '{}'", key);
  if (!v->is_string()) return InvalidArgumentError("field '{}' must be a string", key);
  return v->get<std::string>();
}

StatusOr<std::optional<std::string>> GetOptionalString(const json& j, std::string_view key) {
  const json* v = Find(j, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return InvalidArgumentError("field '{}' must be a string", key);
  return std::optional<std::string>(v->get<std::string>());
}

StatusOr<int64_t> GetInt(const json& j, std::string_view key, int64_t def) {
  const json* v = Find(j, key);
  if (v == nullptr) return def;
  if (!v->is_number_integer()) return InvalidArgumentError("field '{}' must be an integer", key);
  return v->get<int64_t>();
}

StatusOr<const json*> RequireMember(const json& j, std::string_view key) {
  const json* v = Find(j, key);
  if (v == nullptr) return InvalidArgumentError("missing field '{}'", key);
  return v;
}

StatusOr<std::unique_ptr<Pattern>> MakePatternFromJson(const json& j) {
  if (!j.is_object()) return InvalidArgumentError("pattern must be an object");
  if (const json* s = Find(j, "String")) {
    if (!s->is_string()) return InvalidArgumentError("pattern 'String' must be a string");
    return std::unique_ptr<Pattern>(std::make_unique<LiteralPattern>(s->get<std::string>()));
  }
  if (const json* r = Find(j, "Regex")) {
    if (!r->is_string()) return InvalidArgumentError("pattern 'Regex' must be a string");
    ASSIGN_OR_RETURN(auto regex, RegexPattern::Compile(r->get<std::string>()));
    return std::unique_ptr<Pattern>(std::move(regex));
  }
  return InvalidArgumentError("pattern must have a 'String' or a 'Regex' member");
}

namespace {

// bytes_to_unicode of GPT-2: printable bytes map to themselves, the rest to 256 + k.
struct ByteTables {
  std::array<char32_t, 256> to_char{};
  ByteTables() {
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
      to_char[static_cast<size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
    }
  }
};

const ByteTables& Tables() {
  static const ByteTables tables;
  return tables;
}

}  // namespace

char32_t ByteToChar(uint8_t b) {
  return Tables().to_char[b];
}

int CharToByte(char32_t c) {
  if ((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255)) {
    return static_cast<int>(c);
  }
  if (c >= 256 && c < 256 + 68) {
    for (int b = 0; b < 256; ++b) {
      if (Tables().to_char[static_cast<size_t>(b)] == c) return b;
    }
  }
  return -1;
}

std::string ReplaceAll(std::string_view s, std::string_view from, std::string_view to) {
  if (from.empty()) {
    // Rust's str::replace with an empty pattern inserts `to` around every character.
    std::string out(to);
    for (size_t i = 0; i < s.size();) {
      const size_t n = std::min(Utf8Len(static_cast<unsigned char>(s[i])), s.size() - i);
      out.append(s.substr(i, n));
      out.append(to);
      i += n;
    }
    return out;
  }
  std::string out;
  out.reserve(s.size());
  size_t prev = 0;
  for (size_t pos = s.find(from); pos != std::string_view::npos; pos = s.find(from, prev)) {
    out.append(s.substr(prev, pos - prev));
    out.append(to);
    prev = pos + from.size();
  }
  out.append(s.substr(prev));
  return out;
}

}  // namespace sinkscope::tokenizer
