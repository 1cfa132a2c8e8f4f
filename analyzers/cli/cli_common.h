// Shared plumbing of the sinkscope-metrics subcommands: reading matrices from files into tensors,
// options given as JSON, and JSON output that survives NaN and infinities.
#pragma once

#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "analyzers/common/attention_matrices.h"
#include "analyzers/io/matrix_file.h"
#include "core/status.h"

namespace sinkscope::cli {

/// The format given by --format, or the one the file's extension implies (.npy, .csv,
/// .ldm/.lower_distance_matrix → lower-distance, otherwise distance).
StatusOr<analyzers::io::MatrixFormat> ResolveFormat(const std::string& file,
                                                    const std::string& format_name);

/// One attention file as a float32 tensor: [n, n], or [H, n, n] for a 3-D .npy stack. A
/// "FILE.safetensors:NAME" argument reads tensor NAME of a safetensors file (a sinkscope-run
/// capture, e.g. "run.safetensors:sentences.0.layers.5.attention").
StatusOr<at::Tensor> ReadAttentionFile(const std::string& file, const std::string& format_name);

/// Options as JSON: the text itself, or "@path" to read it from a file. An empty string is {}.
/// InvalidArgument for unparsable text or a non-object.
StatusOr<nlohmann::json> ParseOptionsJson(const std::string& text);

/// Reads `key` of `options` into `value` when present. InvalidArgument naming the key when the
/// JSON type does not fit T.
template <typename T>
Status ReadOption(const nlohmann::json& options, const char* key, T& value) {
  auto it = options.find(key);
  if (it == options.end()) return OkStatus();
  try {
    value = it->get<T>();
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError("option '{}': {}", key, e.what());
  }
  return OkStatus();
}

/// Rejects keys of `options` that are not in `known` (typos must not be silently ignored).
Status CheckOptionKeys(const nlohmann::json& options, const std::vector<std::string>& known);

/// A head index as JSON: the index, or "mean" for the head mean (analyzers::kHeadMean).
nlohmann::json HeadJson(int head);

/// Non-finite counts as {"nan": …, "posinf": …, "neginf": …}.
nlohmann::json HealthJson(const analyzers::InputHealth& health);

/// A double as JSON: finite → number, NaN → null, ±∞ → "inf" / "-inf".
nlohmann::json JsonNumber(double value);

/// Doubles as a JSON array of JsonNumber values.
nlohmann::json JsonNumbers(const std::vector<double>& values);

/// The attention files of one sentence, one per layer in order, each [H, n, n] (or [n, n]),
/// stacked to [L, H, n, n]; InvalidArgument when their shapes differ. A single
/// "FILE.safetensors:PREFIX" takes every "PREFIX.layers.<l>.attention" of a capture.
StatusOr<at::Tensor> ReadLayerStack(const std::vector<std::string>& files,
                                    const std::string& format_name);

/// Vectors from a file as a float32 tensor: [rows, d], or [depth, rows, d] for a 3-D .npy (or
/// "FILE.safetensors:NAME", e.g. a capture's hidden_in).
StatusOr<at::Tensor> ReadVectorsFile(const std::string& file, const std::string& format_name);

/// Prints `value` on one line to stdout.
void PrintJson(const nlohmann::json& value);

/// Reports `status` on stderr as "sinkscope-metrics <command>: <status>" and ends the command
/// with exit status 1 (CLI11 turns the exception into the return value of main).
[[noreturn]] void Fail(const std::string& command, const Status& status);

}  // namespace sinkscope::cli
