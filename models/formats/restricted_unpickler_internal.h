// A restricted unpickler for torch state dicts (the `data.pkl` of a torch.save zip archive).
//
// It is not a Python VM: it implements the pickle opcodes that `torch.save(state_dict)` emits
// (protocol 2, plus the protocol 4 framing/short-string/memoize opcodes for tolerance) and the
// handful of globals a state dict references. Anything else is refused before it has an effect:
//   - globals other than collections.OrderedDict, torch._utils._rebuild_tensor_v2,
//     torch._utils._rebuild_tensor, torch._utils._rebuild_parameter and torch.<T>Storage
//     -> INVALID_ARGUMENT naming the global (e.g. 'posix.system');
//   - valid pickle opcodes a state dict does not use (INST, OBJ, NEWOBJ, EXT*, ...)
//     -> INVALID_ARGUMENT naming the opcode;
//   - malformed input (stack underflow, wrong types, truncation, unknown opcodes, lengths past
//     the end or over the limits) -> DATA_LOSS with the byte offset in the pickle.
//
// Containers are frozen once they are placed inside another container or tuple, which makes
// reference cycles impossible; nesting depth, stack, memo and string sizes are bounded, so a
// hostile pickle can neither recurse the C++ stack nor allocate without limit.
//
// Reference for the opcodes: CPython Lib/pickletools.py (opcode table and argument formats).
// Reference for the tensor reduction: torch/_tensor.py `_reduce_ex_internal` and
// torch/_utils.py `_rebuild_tensor_v2`; persistent ids: torch/serialization.py `persistent_id`.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <ATen/core/Tensor.h>

#include "core/status.h"
#include "models/formats/checkpoint.h"

namespace sinkscope::formats {

/// What a persistent id ('storage', torch.<T>Storage, key, location, numel) asks for.
struct StorageRequest {
  std::string key;       ///< record name under `<archive>/data/`
  at::ScalarType dtype;  ///< from the storage type
  std::string location;  ///< e.g. "cpu", "cuda:0" (informational; we always load to CPU)
  int64_t numel;         ///< number of elements of the storage
};

/// Returns the storage as a 1-D CPU tensor of `numel` elements of `dtype`.
using StorageLoader = std::function<StatusOr<at::Tensor>(const StorageRequest&)>;

/// Bounds applied while unpickling. The defaults are far above any real state dict.
struct UnpickleLimits {
  size_t max_stack = size_t{1} << 22;           ///< values on the stack, marks included
  size_t max_memo = size_t{1} << 24;            ///< memo entries
  size_t max_string_bytes = size_t{1} << 20;    ///< one str (keys, names)
  size_t max_nesting = 64;                      ///< container nesting depth
  size_t max_rank = 64;                         ///< tensor dimensions
  uint64_t max_copy_bytes = uint64_t{1} << 30;  ///< bytes copied to make strided views contiguous
};

/// Unpickles `pickle` and flattens the resulting dict into a TensorMap: nested dicts join keys
/// with '.', lists/tuples use their index. Every leaf must be a tensor: INVALID_ARGUMENT
/// "'<key>' is an int, not a tensor" (etc.) otherwise. Tensors are views of the storages `load`
/// returns when contiguous, copies otherwise.
StatusOr<TensorMap> UnpickleStateDict(std::string_view pickle, const StorageLoader& load,
                                      const UnpickleLimits& limits = {});

}  // namespace sinkscope::formats
