// Reading dense float32 matrices from files: NumPy .npy, CSV, and the ripser program's text
// formats, for sinkscope-metrics and the benchmarks. Readers are defensive: sizes are bounded
// before allocating, and every error names the file (and line) and is returned as a Status.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sinkscope::analyzers::io {

enum class MatrixFormat {
  /// ripser's lower-distance: the n(n−1)/2 entries below the diagonal, row by row (d(1,0);
  /// d(2,0), d(2,1); …), separated by commas and/or whitespace; the count must be triangular.
  /// Read as the symmetric n×n matrix with a zero diagonal.
  kLowerDistance,
  /// ripser's distance: one row per line, values separated by commas and/or whitespace; the
  /// matrix must be square. (The persistence engine then reads only its lower triangle, as
  /// ripser does.)
  kDistance,
  /// A rectangular CSV of numbers (commas and/or whitespace), one row per line.
  kCsv,
  /// NumPy .npy, format versions 1–3, dtype float32 or float64 little-endian, C order; 2-D, or
  /// 3-D for a stack of matrices (e.g. one layer's heads, [H, n, n]).
  kNpy,
};

/// "lower-distance", "distance", "csv" or "npy".
StatusOr<MatrixFormat> ParseMatrixFormat(std::string_view name);

struct MatrixFileLimits {
  int64_t max_file_bytes = int64_t{1} << 31;  ///< larger files are refused (ResourceExhausted)
  int64_t max_rows = 1 << 16;                 ///< also the limit on columns
  int64_t max_elements = int64_t{1} << 28;    ///< rows × cols
  /// Accept a 1-D .npy array [d] as the 1×d matrix (a single vector, e.g. a direction file);
  /// by default only 2-D and 3-D arrays are read.
  bool npy_vector_as_row = false;
};

/// A dense row-major float32 matrix ([rows, cols]), or a stack of `depth` of them ([depth, rows,
/// cols]; only .npy files hold more than one). float64 input is rounded to float32.
struct Matrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> values;
  int64_t depth = 1;
};

/// Reads one matrix. Errors: NotFound (cannot open), ResourceExhausted (over a limit),
/// InvalidArgument (malformed text, wrong shape, unsupported dtype/layout), DataLoss (truncated or
/// oversized .npy payload). Messages start with the file name ("f.csv:3: …" for text lines).
StatusOr<Matrix> ReadMatrixFile(const std::filesystem::path& file, MatrixFormat format,
                                const MatrixFileLimits& limits = {});

/// The same readers over bytes already in memory; `name` is used in messages.
StatusOr<Matrix> ParseMatrix(std::string_view bytes, MatrixFormat format, std::string_view name,
                             const MatrixFileLimits& limits = {});

/// Writes `matrix` as a little-endian float32 C-order .npy file (format 1.0): shape (rows, cols),
/// or (depth, rows, cols) when depth > 1. NotFound when the file cannot be written, DataLoss on a
/// short write, InvalidArgument when values.size() ≠ depth·rows·cols.
Status WriteNpyFile(const std::filesystem::path& file, const Matrix& matrix);

}  // namespace sinkscope::analyzers::io
