#include "models/formats/hf_config.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

namespace sinkscope::formats {

StatusOr<nlohmann::json> ReadJsonObjectFile(const std::filesystem::path& file,
                                            uintmax_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return NotFoundError("{}: no such file", file.string());
  }
  const uintmax_t size = std::filesystem::file_size(file, ec);
  if (ec) return DataLossError("{}: cannot read size: {}", file.string(), ec.message());
  if (size > max_bytes) {
    return DataLossError("{}: {} bytes is larger than the {} byte limit for a JSON file",
                         file.string(), size, max_bytes);
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return DataLossError("{}: cannot open for reading", file.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  nlohmann::json parsed = nlohmann::json::parse(buffer.str(), /*cb=*/nullptr,
                                                /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return DataLossError("{}: not valid JSON", file.string());
  if (!parsed.is_object()) return DataLossError("{}: expected a JSON object", file.string());
  return parsed;
}

const nlohmann::json* ConfigReader::Find(const std::string& key) {
  read_.insert(key);
  auto it = config_.find(key);
  if (it == config_.end() || it->is_null()) return nullptr;
  return &*it;
}

int64_t ConfigReader::Int(const std::string& key, int64_t fallback) {
  auto v = OptionalInt(key);
  return v ? *v : fallback;
}

std::optional<int64_t> ConfigReader::OptionalInt(const std::string& key) {
  const nlohmann::json* v = Find(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_integer()) return v->get<int64_t>();
  // Some configs write integers as 64.0.
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e15) {
      return static_cast<int64_t>(d);
    }
  }
  Fail(key, fmt::format("expected an integer, got {}", v->dump()));
  return std::nullopt;
}

double ConfigReader::Double(const std::string& key, double fallback) {
  auto v = OptionalDouble(key);
  return v ? *v : fallback;
}

std::optional<double> ConfigReader::OptionalDouble(const std::string& key) {
  const nlohmann::json* v = Find(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_number()) {
    double d = v->get<double>();
    if (std::isfinite(d)) return d;
  }
  Fail(key, fmt::format("expected a finite number, got {}", v->dump()));
  return std::nullopt;
}

bool ConfigReader::Bool(const std::string& key, bool fallback) {
  const nlohmann::json* v = Find(key);
  if (v == nullptr) return fallback;
  if (v->is_boolean()) return v->get<bool>();
  Fail(key, fmt::format("expected true or false, got {}", v->dump()));
  return fallback;
}

std::string ConfigReader::String(const std::string& key, const std::string& fallback) {
  const nlohmann::json* v = Find(key);
  if (v == nullptr) return fallback;
  if (v->is_string()) return v->get<std::string>();
  Fail(key, fmt::format("expected a string, got {}", v->dump()));
  return fallback;
}

int64_t ConfigReader::RequireInt(const std::string& key) {
  auto v = OptionalInt(key);
  if (!v && config_.find(key) == config_.end()) Fail(key, "is required but missing");
  return v.value_or(0);
}

const nlohmann::json& ConfigReader::Raw(const std::string& key) {
  const nlohmann::json* v = Find(key);
  return v == nullptr ? null_ : *v;
}

void ConfigReader::Fail(const std::string& key, const std::string& why) {
  errors_.push_back(fmt::format("'{}' {}", key, why));
}

void ConfigReader::RequirePositive(const std::string& key, int64_t value) {
  if (value <= 0) Fail(key, fmt::format("must be positive, got {}", value));
}

Status ConfigReader::status() const {
  if (errors_.empty()) return OkStatus();
  std::string all;
  for (const auto& e : errors_) {
    if (!all.empty()) all += "; ";
    all += e;
  }
  return InvalidArgumentError("{}: {}", source_, all);
}

std::vector<std::string> ConfigReader::UnreadKeys() const {
  std::vector<std::string> keys;
  for (auto it = config_.begin(); it != config_.end(); ++it) {
    if (!read_.count(it.key())) keys.push_back(it.key());
  }
  return keys;
}

}  // namespace sinkscope::formats
