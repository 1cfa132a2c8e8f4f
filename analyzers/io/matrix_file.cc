#include "analyzers/io/matrix_file.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <string>

namespace sinkscope::analyzers::io {
namespace {

bool IsSeparator(char c) {
  return c == ' ' || c == '\t' || c == ',' || c == ';' || c == '\r';
}

/// Parses the numbers of one line into `out` (float32, correctly rounded like strtof).
Status ParseLine(std::string_view line, std::string_view name, int64_t line_number,
                 std::vector<float>& out, int64_t max_values) {
  size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && IsSeparator(line[pos])) ++pos;
    if (pos == line.size()) break;
    size_t end = pos;
    while (end < line.size() && !IsSeparator(line[end])) ++end;
    std::string_view token = line.substr(pos, end - pos);
    std::string_view digits = token;
    if (digits.size() > 1 && digits[0] == '+') digits.remove_prefix(1);
    float value = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec == std::errc::result_out_of_range) {
      return InvalidArgumentError("{}:{}: '{}' is out of the float32 range", name, line_number,
                                  token);
    }
    if (ec != std::errc() || ptr != digits.data() + digits.size()) {
      return InvalidArgumentError("{}:{}: cannot parse '{}' as a number", name, line_number,
                                  token.substr(0, 40));
    }
    if (static_cast<int64_t>(out.size()) >= max_values) {
      return ResourceExhaustedError("{}:{}: more than {} values", name, line_number, max_values);
    }
    out.push_back(value);
    pos = end;
  }
  return OkStatus();
}

/// Calls fn(line, line_number) for every line (without its '\n').
template <typename Fn>
Status ForEachLine(std::string_view bytes, Fn&& fn) {
  int64_t line_number = 0;
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t end = bytes.find('\n', pos);
    if (end == std::string_view::npos) end = bytes.size();
    RETURN_IF_ERROR(fn(bytes.substr(pos, end - pos), ++line_number));
    pos = end + 1;
  }
  return OkStatus();
}

StatusOr<Matrix> ParseLowerDistance(std::string_view bytes, std::string_view name,
                                    const MatrixFileLimits& limits) {
  std::vector<float> lower;
  const int64_t max_values = limits.max_rows * (limits.max_rows - 1) / 2;
  RETURN_IF_ERROR(ForEachLine(bytes, [&](std::string_view line, int64_t number) {
    return ParseLine(line, name, number, lower, std::min(max_values, limits.max_elements));
  }));
  // n(n − 1)/2 = k  ⇔  n = (1 + √(1 + 8k))/2, checked exactly in integers.
  const int64_t k = static_cast<int64_t>(lower.size());
  int64_t n = static_cast<int64_t>((1.0 + std::sqrt(1.0 + 8.0 * static_cast<double>(k))) / 2.0);
  while (n * (n - 1) / 2 > k) --n;
  while ((n + 1) * n / 2 <= k) ++n;
  if (n * (n - 1) / 2 != k) {
    return InvalidArgumentError(
        "{}: {} values is not the size of a strict lower triangle n(n-1)/2 (nearest: n = {} with "
        "{} values)",
        name, k, n, n * (n - 1) / 2);
  }
  if (n > limits.max_rows || n * n > limits.max_elements) {
    return ResourceExhaustedError("{}: a {}x{} matrix exceeds the limits", name, n, n);
  }
  Matrix m{n, n, std::vector<float>(n * n, 0.0f)};
  for (int64_t i = 1, idx = 0; i < n; ++i) {
    for (int64_t j = 0; j < i; ++j, ++idx) m.values[i * n + j] = m.values[j * n + i] = lower[idx];
  }
  return m;
}

StatusOr<Matrix> ParseRows(std::string_view bytes, std::string_view name,
                           const MatrixFileLimits& limits, bool square) {
  Matrix m;
  std::vector<float> row;
  RETURN_IF_ERROR(ForEachLine(bytes, [&](std::string_view line, int64_t number) -> Status {
    row.clear();
    RETURN_IF_ERROR(ParseLine(line, name, number, row, limits.max_rows));
    if (row.empty()) return OkStatus();  // blank lines are skipped
    if (m.rows == 0) m.cols = static_cast<int64_t>(row.size());
    if (static_cast<int64_t>(row.size()) != m.cols) {
      return InvalidArgumentError("{}:{}: row has {} values, the first row has {}", name, number,
                                  row.size(), m.cols);
    }
    if (m.rows + 1 > limits.max_rows || (m.rows + 1) * m.cols > limits.max_elements) {
      return ResourceExhaustedError("{}:{}: more than {} rows or {} values", name, number,
                                    limits.max_rows, limits.max_elements);
    }
    m.values.insert(m.values.end(), row.begin(), row.end());
    ++m.rows;
    return OkStatus();
  }));
  if (square && m.rows != m.cols) {
    return InvalidArgumentError("{}: a distance matrix must be square, got {} rows of {} values",
                                name, m.rows, m.cols);
  }
  return m;
}

/// Value of `key` in a .npy header dict, e.g. "'descr': '<f4'," → "'<f4'".
std::string_view HeaderField(std::string_view header, std::string_view key) {
  std::string quoted = "'" + std::string(key) + "'";
  size_t at = header.find(quoted);
  if (at == std::string_view::npos) return {};
  size_t colon = header.find(':', at + quoted.size());
  if (colon == std::string_view::npos) return {};
  size_t begin = header.find_first_not_of(' ', colon + 1);
  if (begin == std::string_view::npos) return {};
  size_t end = header[begin] == '(' ? header.find(')', begin) + 1 : header.find(',', begin);
  if (end == std::string_view::npos || end == 0) end = header.find('}', begin);
  if (end == std::string_view::npos) return {};
  return header.substr(begin, end - begin);
}

StatusOr<Matrix> ParseNpy(std::string_view bytes, std::string_view name,
                          const MatrixFileLimits& limits) {
  static constexpr char kMagic[] = "\x93NUMPY";
  if (bytes.size() < 10 || bytes.substr(0, 6) != std::string_view(kMagic, 6)) {
    return InvalidArgumentError("{}: not a .npy file (no \\x93NUMPY magic)", name);
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  uint64_t header_len = 0;
  size_t header_start = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) |
                 (static_cast<uint64_t>(static_cast<unsigned char>(bytes[9])) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return DataLossError("{}: truncated .npy header", name);
    for (int b = 0; b < 4; ++b) {
      header_len |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[8 + b])) << (8 * b);
    }
    header_start = 12;
  } else {
    return InvalidArgumentError("{}: unsupported .npy format version {}", name, major);
  }
  if (header_len > bytes.size() - header_start) {
    return DataLossError("{}: .npy header of {} bytes runs past the end of the file", name,
                         header_len);
  }
  std::string_view header = bytes.substr(header_start, header_len);
  std::string_view descr = HeaderField(header, "descr");
  std::string_view fortran = HeaderField(header, "fortran_order");
  std::string_view shape = HeaderField(header, "shape");
  if (descr.empty() || fortran.empty() || shape.empty()) {
    return InvalidArgumentError("{}: .npy header lacks descr/fortran_order/shape: {}", name,
                                header.substr(0, 120));
  }
  size_t itemsize = 0;
  if (descr == "'<f4'") {
    itemsize = 4;
  } else if (descr == "'<f8'") {
    itemsize = 8;
  } else {
    return InvalidArgumentError("{}: dtype {} is not supported (float32 '<f4' or float64 '<f8')",
                                name, descr);
  }
  if (fortran != "False") {
    return InvalidArgumentError("{}: Fortran-order arrays are not supported (save C order)", name);
  }
  // shape "(r, c)" or "(d, r, c)": two or three non-negative integers.
  std::vector<int64_t> dims;
  size_t pos = 1;
  while (pos < shape.size()) {
    while (pos < shape.size() && (shape[pos] == ' ' || shape[pos] == ',' || shape[pos] == ')')) {
      ++pos;
    }
    if (pos >= shape.size()) break;
    int64_t d = 0;
    auto [ptr, ec] = std::from_chars(shape.data() + pos, shape.data() + shape.size(), d);
    if (ec != std::errc() || d < 0) {
      return InvalidArgumentError("{}: bad .npy shape {}", name, shape);
    }
    dims.push_back(d);
    pos = static_cast<size_t>(ptr - shape.data());
    if (dims.size() > 8) break;
  }
  if (dims.size() == 1 && limits.npy_vector_as_row) dims.insert(dims.begin(), 1);
  if (dims.size() != 2 && dims.size() != 3) {
    return InvalidArgumentError(
        "{}: a 2-D array (or a 3-D stack of matrices) is required, shape is {}", name, shape);
  }
  const int64_t depth = dims.size() == 3 ? dims[0] : 1;
  const int64_t rows = dims[dims.size() - 2];
  const int64_t cols = dims[dims.size() - 1];
  if (depth > limits.max_rows || rows > limits.max_rows || cols > limits.max_rows ||
      rows * cols > limits.max_elements || depth * rows * cols > limits.max_elements) {
    return ResourceExhaustedError("{}: an array of shape {} exceeds the limits", name, shape);
  }
  const uint64_t count = static_cast<uint64_t>(depth * rows * cols);
  const size_t data_start = header_start + header_len;
  const uint64_t available = bytes.size() - data_start;
  if (available != count * itemsize) {
    return DataLossError("{}: .npy payload has {} bytes, shape {} of {}-byte values needs {}", name,
                         available, shape, itemsize, count * itemsize);
  }
  Matrix m{rows, cols, std::vector<float>(count), depth};
  const char* data = bytes.data() + data_start;
  if (itemsize == 4) {
    std::memcpy(m.values.data(), data, count * 4);
  } else {
    for (uint64_t i = 0; i < count; ++i) {
      double v;
      std::memcpy(&v, data + 8 * i, 8);
      m.values[i] = static_cast<float>(v);
    }
  }
  return m;
}

}  // namespace

StatusOr<MatrixFormat> ParseMatrixFormat(std::string_view name) {
  if (name == "lower-distance") return MatrixFormat::kLowerDistance;
  if (name == "distance") return MatrixFormat::kDistance;
  if (name == "csv") return MatrixFormat::kCsv;
  if (name == "npy") return MatrixFormat::kNpy;
  return InvalidArgumentError("unknown matrix format '{}' (lower-distance, distance, csv, npy)",
                              name);
}

StatusOr<Matrix> ParseMatrix(std::string_view bytes, MatrixFormat format, std::string_view name,
                             const MatrixFileLimits& limits) {
  switch (format) {
    case MatrixFormat::kLowerDistance:
      return ParseLowerDistance(bytes, name, limits);
    case MatrixFormat::kDistance:
      return ParseRows(bytes, name, limits, /*square=*/true);
    case MatrixFormat::kCsv:
      return ParseRows(bytes, name, limits, /*square=*/false);
    case MatrixFormat::kNpy:
      return ParseNpy(bytes, name, limits);
  }
  return InvalidArgumentError("{}: unknown matrix format", name);
}

StatusOr<Matrix> ReadMatrixFile(const std::filesystem::path& file, MatrixFormat format,
                                const MatrixFileLimits& limits) {
  const std::string name = file.string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return NotFoundError("{}: no such file", name);
  }
  const uintmax_t size = std::filesystem::file_size(file, ec);
  if (ec) return NotFoundError("{}: cannot stat: {}", name, ec.message());
  if (size > static_cast<uintmax_t>(limits.max_file_bytes)) {
    return ResourceExhaustedError("{}: {} bytes, more than the limit of {}", name, size,
                                  limits.max_file_bytes);
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return NotFoundError("{}: cannot open", name);
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size)) {
    return DataLossError("{}: short read ({} of {} bytes)", name, in.gcount(), size);
  }
  return ParseMatrix(bytes, format, name, limits);
}

Status WriteNpyFile(const std::filesystem::path& file, const Matrix& matrix) {
  static_assert(std::endian::native == std::endian::little, "the .npy writer assumes '<f4'");
  const std::string name = file.string();
  if (matrix.depth < 1 || matrix.rows < 0 || matrix.cols < 0 ||
      static_cast<int64_t>(matrix.values.size()) != matrix.depth * matrix.rows * matrix.cols) {
    return InvalidArgumentError("{}: {} values do not fill a {}x{}x{} array", name,
                                matrix.values.size(), matrix.depth, matrix.rows, matrix.cols);
  }
  std::string shape = matrix.depth > 1
                          ? fmt::format("({}, {}, {})", matrix.depth, matrix.rows, matrix.cols)
                          : fmt::format("({}, {})", matrix.rows, matrix.cols);
  std::string header =
      fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': {}, }}", shape);
  // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) return NotFoundError("{}: cannot open for writing", name);
  const auto len = static_cast<uint16_t>(header.size());
  std::string preamble = "\x93NUMPY";
  preamble += static_cast<char>(1);  // format version 1.0
  preamble += static_cast<char>(0);
  preamble += static_cast<char>(len & 0xff);
  preamble += static_cast<char>(len >> 8);
  out.write(preamble.data(), static_cast<std::streamsize>(preamble.size()));
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(matrix.values.data()),
            static_cast<std::streamsize>(matrix.values.size() * sizeof(float)));
  out.flush();
  if (!out) return DataLossError("{}: write failed", name);
  return OkStatus();
}

}  // namespace sinkscope::analyzers::io
