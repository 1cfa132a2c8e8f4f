// Parsing "1,2,3" lists of integers (token ids, layer numbers) from command lines and files.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sinkscope {

/// Parses comma-separated integers; spaces around items are allowed. INVALID_ARGUMENT names the
/// first item that is empty, not an integer, or out of the int64 range. Callers add context
/// (which flag, file and line) with Status::WithContext.
StatusOr<std::vector<int64_t>> ParseIntList(std::string_view text);

}  // namespace sinkscope
