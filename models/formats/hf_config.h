// config.json: typed, checked access to a Hugging Face model config.
//
// Each architecture parses its own <Arch>Config through a ConfigReader: reads are typed, a wrong
// type or an impossible value is an INVALID_ARGUMENT naming the key, and keys no architecture
// read are reported back as warnings (unknown keys are not errors: configs carry many keys that
// do not affect the forward pass, e.g. dropout or generation settings).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace sinkscope::formats {

/// Largest config.json accepted (real ones are a few KB).
inline constexpr uintmax_t kMaxConfigBytes = 16ull << 20;

/// Reads and parses `config.json` (bounded size; must be a JSON object).
/// NOT_FOUND if absent, DATA_LOSS if unreadable or not a JSON object.
StatusOr<nlohmann::json> ReadJsonObjectFile(const std::filesystem::path& file,
                                            uintmax_t max_bytes = kMaxConfigBytes);

/// Typed reads from a config object. Errors are collected; status() reports all of them at once.
class ConfigReader {
 public:
  ConfigReader(const nlohmann::json& config, std::string source)
      : config_(config), source_(std::move(source)) {}

  /// Value of `key`, or `fallback` when absent or null.
  int64_t Int(const std::string& key, int64_t fallback);
  double Double(const std::string& key, double fallback);
  bool Bool(const std::string& key, bool fallback);
  std::string String(const std::string& key, const std::string& fallback);
  /// Value of `key` when present and not null.
  std::optional<int64_t> OptionalInt(const std::string& key);
  std::optional<double> OptionalDouble(const std::string& key);
  /// Required key; records an error when absent.
  int64_t RequireInt(const std::string& key);
  /// The raw JSON of a key (object-valued keys like rope_scaling), null when absent.
  const nlohmann::json& Raw(const std::string& key);

  /// Records an impossible-value error for `key` with an explanation.
  void Fail(const std::string& key, const std::string& why);
  /// Requires value > 0 (and records an error naming the key otherwise).
  void RequirePositive(const std::string& key, int64_t value);

  /// OK, or INVALID_ARGUMENT listing every problem found so far.
  Status status() const;
  /// Keys of the config that were never read (candidates for "unknown key" warnings).
  std::vector<std::string> UnreadKeys() const;

 private:
  const nlohmann::json* Find(const std::string& key);

  const nlohmann::json& config_;
  std::string source_;
  std::set<std::string> read_;
  std::vector<std::string> errors_;
  const nlohmann::json null_;
};

}  // namespace sinkscope::formats
