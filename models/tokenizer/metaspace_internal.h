// Metaspace settings shared by the pre-tokenizer and the decoder.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"

namespace sinkscope::tokenizer {

enum class PrependScheme { kAlways, kFirst, kNever };

struct MetaspaceConfig {
  std::string replacement = "\xE2\x96\x81";  // U+2581
  char32_t replacement_char = 0x2581;
  PrependScheme prepend_scheme = PrependScheme::kAlways;
  bool split = true;
};

StatusOr<MetaspaceConfig> ParseMetaspaceConfig(const nlohmann::json& j);

}  // namespace sinkscope::tokenizer
