#include "core/int_list.h"

#include <charconv>

namespace sinkscope {

StatusOr<std::vector<int64_t>> ParseIntList(std::string_view text) {
  std::vector<int64_t> values;
  size_t pos = 0;
  while (true) {
    const size_t comma = text.find(',', pos);
    std::string_view item =
        text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos);
    const size_t first = item.find_first_not_of(" \t");
    const size_t last = item.find_last_not_of(" \t");
    item = first == item.npos ? std::string_view() : item.substr(first, last - first + 1);
    if (item.empty()) return InvalidArgumentError("empty entry in '{}'", text);
    int64_t value = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (ec == std::errc::result_out_of_range) {
      return InvalidArgumentError("'{}' is out of the 64-bit integer range", item);
    }
    if (ec != std::errc() || end != item.data() + item.size()) {
      return InvalidArgumentError("'{}' is not an integer", item);
    }
    values.push_back(value);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return values;
}

}  // namespace sinkscope
