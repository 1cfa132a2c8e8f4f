// Checkpoint files: safetensors (single and sharded), torch `pytorch_model.bin` (zip format).
//
// Every reader treats the file as hostile: sizes are bounded before anything is allocated, all
// arithmetic on lengths and offsets is checked, and every problem comes back as a Status whose
// message names the file and, where there is one, the tensor. Nothing here aborts on bad bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/status.h"

namespace sinkscope::formats {

/// Tensors by their checkpoint name (HF key, e.g. "model.layers.0.self_attn.q_proj.weight").
/// CPU tensors. Where dtype and alignment allow, their storage aliases a private copy-on-write
/// memory map of the file that stays mapped as long as any tensor refers to it (writes would copy
/// pages, never reach the file; model code treats weights as read-only).
using TensorMap = std::map<std::string, at::Tensor>;

/// Largest safetensors JSON header accepted (the safetensors crate uses the same bound).
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100ull << 20;

/// Reads one `.safetensors` file (memory-mapped; a tensor is copied only when its bytes are not
/// aligned to its element size). Errors: NOT_FOUND (no such file), DATA_LOSS (truncated file, bad
/// header length, invalid JSON, duplicate names, spans outside the data, overlapping or leaving
/// gaps, numel × itemsize ≠ byte span), UNIMPLEMENTED (dtype outside the allowlist F64 F32 F16
/// BF16 I64 I32 I16 I8 U8 BOOL). Messages start with the file and name the tensor.
StatusOr<TensorMap> ReadSafetensors(const std::filesystem::path& file);

/// Reads a sharded checkpoint from its `model.safetensors.index.json`: every shard the
/// weight_map names must exist, each tensor must be in the shard the index says, and names must
/// be unique across shards. Errors: DATA_LOSS (a shard missing — the checkpoint is incomplete —,
/// a shard name that is not a plain file name, a tensor missing from its shard, a name in two
/// shards, bad JSON), plus the errors of ReadSafetensors for each shard.
StatusOr<TensorMap> ReadSafetensorsIndex(const std::filesystem::path& index_json);

/// Reads a torch zip checkpoint (`torch.save` format since 1.6: `<archive>/data.pkl` plus
/// `<archive>/data/<key>` storages) with a restricted unpickler that accepts only what a state
/// dict uses (dicts/OrderedDict of tensors, nested containers of tensors) and rejects any other
/// global or opcode. Nested containers are flattened with '.'-joined keys ("model.0.weight").
/// Errors: DATA_LOSS (corrupt zip/pickle), INVALID_ARGUMENT (non-tensor leaves, disallowed
/// globals or opcodes), UNIMPLEMENTED (legacy non-zip format, compressed entries, big-endian,
/// TorchScript archives), RESOURCE_EXHAUSTED (strided views needing more copying than about twice
/// the file size).
StatusOr<TensorMap> ReadTorchBin(const std::filesystem::path& file);

/// Reads the weights of a model directory: `model.safetensors`, else
/// `model.safetensors.index.json`, else `pytorch_model.bin`, else `pytorch_model.bin.index.json`
/// (sharded .bin, same index format). NOT_FOUND lists what was looked for.
StatusOr<TensorMap> ReadCheckpointDir(const std::filesystem::path& dir);

/// Writes tensors (any device; converted to contiguous CPU) as one safetensors file, in the given
/// order, with optional string metadata ("__metadata__"). Used by sinkscope-run and tests.
/// The data is written to a temporary file in the same directory and renamed over `file`, so a
/// failure leaves nothing behind. Errors: INVALID_ARGUMENT (duplicate or reserved name, undefined
/// tensor), UNIMPLEMENTED (dtype outside the allowlist), NOT_FOUND (no such directory).
Status WriteSafetensors(const std::filesystem::path& file,
                        const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                        const std::map<std::string, std::string>& metadata = {});

}  // namespace sinkscope::formats
