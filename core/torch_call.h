// Converts exceptions thrown by libtorch into Status at the boundary where we call it.
//
// libtorch reports shape errors, allocation failures and CUDA OOM as c10::Error (or
// std::exception). Exceptions never cross a sinkscope module boundary: every call into libtorch
// that can fail on data we did not produce goes through TorchCall.
#pragma once

#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>

#include <c10/util/Exception.h>

#include "core/status.h"

namespace sinkscope {

/// First line of a libtorch error message (the rest is a C++ backtrace nobody should see).
inline std::string FirstLine(std::string_view what) {
  auto nl = what.find('\n');
  return std::string(what.substr(0, nl));
}

template <typename T>
struct IsStatusOr : std::false_type {};
template <typename T>
struct IsStatusOr<StatusOr<T>> : std::true_type {};

/// Runs `fn` and converts any exception to a Status with `context` prepended. `fn` returns
/// void or Status (→ Status), a StatusOr (→ the same StatusOr), or a value (→ StatusOr<value>).
template <typename Fn>
auto TorchCall(std::string_view context, Fn&& fn) {
  using R = std::invoke_result_t<Fn>;
  using Out = std::conditional_t<std::is_void_v<R> || std::is_same_v<R, Status>, Status,
                                 std::conditional_t<IsStatusOr<R>::value, R, StatusOr<R>>>;
  try {
    if constexpr (std::is_void_v<R>) {
      fn();
      return Out(OkStatus());
    } else {
      return Out(fn());
    }
  } catch (const c10::Error& e) {
    std::string msg = FirstLine(e.what_without_backtrace());
    // CUDA out-of-memory is a resource problem the client can act on (smaller batch).
    if (msg.find("out of memory") != std::string::npos) {
      return Out(Status(StatusCode::kResourceExhausted, fmt::format("{}: {}", context, msg)));
    }
    return Out(Status(StatusCode::kInternal, fmt::format("{}: {}", context, msg)));
  } catch (const std::bad_alloc&) {
    return Out(
        Status(StatusCode::kResourceExhausted, fmt::format("{}: out of host memory", context)));
  } catch (const std::exception& e) {
    return Out(Status(StatusCode::kInternal, fmt::format("{}: {}", context, FirstLine(e.what()))));
  }
}

}  // namespace sinkscope
