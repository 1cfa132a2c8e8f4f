// analyzers/io/matrix_file: the four readers, and a corruption table (each damaged input maps to
// a status code and a message fragment naming the file and, for text, the line).
#include "analyzers/io/matrix_file.h"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace sinkscope::analyzers::io {
namespace {

/// A .npy v1.0 file: magic, version, little-endian header length, header padded with spaces to a
/// multiple of 64 bytes and ending in '\n', then the payload.
std::string Npy(const std::string& dict, const std::string& payload) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + payload;
}

template <typename T>
std::string Bytes(const std::vector<T>& values) {
  std::string out(values.size() * sizeof(T), '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

TEST(MatrixFileTest, ReadsEveryFormat) {
  auto lower = ParseMatrix("\n1\n2,3\n", MatrixFormat::kLowerDistance, "m.ldm");
  ASSERT_TRUE(lower.ok()) << lower.status().ToString();
  EXPECT_EQ(lower->rows, 3);
  EXPECT_EQ(lower->values, (std::vector<float>{0, 1, 2, 1, 0, 3, 2, 3, 0}));

  auto full = ParseMatrix("0 1 2\n1 0 3\n\n2 3 0\n", MatrixFormat::kDistance, "m.txt");
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->values, lower->values);

  auto csv = ParseMatrix("1.5,+2,-3e-1\r\n4,5,6\n", MatrixFormat::kCsv, "m.csv");
  ASSERT_TRUE(csv.ok()) << csv.status().ToString();
  EXPECT_EQ(csv->rows, 2);
  EXPECT_EQ(csv->cols, 3);
  EXPECT_EQ(csv->values, (std::vector<float>{1.5f, 2, -0.3f, 4, 5, 6}));

  const std::vector<float> f32 = {0, 1, 1, 0, 0.1f, 7};
  auto npy32 =
      ParseMatrix(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", Bytes(f32)),
                  MatrixFormat::kNpy, "m.npy");
  ASSERT_TRUE(npy32.ok()) << npy32.status().ToString();
  EXPECT_EQ(npy32->rows, 2);
  EXPECT_EQ(npy32->values, f32);

  const std::vector<double> f64 = {0, 0.1, 0.1, 0};
  auto npy64 =
      ParseMatrix(Npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", Bytes(f64)),
                  MatrixFormat::kNpy, "m.npy");
  ASSERT_TRUE(npy64.ok()) << npy64.status().ToString();
  EXPECT_EQ(npy64->values, (std::vector<float>{0, 0.1f, 0.1f, 0}));

  // An empty lower-distance file is one point.
  auto one = ParseMatrix("\n", MatrixFormat::kLowerDistance, "one.ldm");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->rows, 1);
}

TEST(MatrixFileTest, CorruptionTable) {
  const std::string f4_2x2 = Bytes(std::vector<float>{0, 1, 1, 0});
  struct Row {
    std::string name;
    std::string bytes;
    MatrixFormat format;
    StatusCode code;
    std::string fragment;
  };
  MatrixFileLimits small;
  small.max_rows = 4;
  const std::vector<Row> rows = {
      {"bad.ldm", "\n1\n2,x\n", MatrixFormat::kLowerDistance, StatusCode::kInvalidArgument,
       "bad.ldm:3: cannot parse 'x'"},
      {"count.ldm", "1 2 3 4", MatrixFormat::kLowerDistance, StatusCode::kInvalidArgument,
       "count.ldm: 4 values is not the size of a strict lower triangle"},
      {"range.csv", "1e99,1\n", MatrixFormat::kCsv, StatusCode::kInvalidArgument,
       "range.csv:1: '1e99' is out of the float32 range"},
      {"ragged.csv", "1,2\n3\n", MatrixFormat::kCsv, StatusCode::kInvalidArgument,
       "ragged.csv:2: row has 1 values, the first row has 2"},
      {"wide.txt", "0 1 2\n1 0 3\n", MatrixFormat::kDistance, StatusCode::kInvalidArgument,
       "must be square, got 2 rows of 3 values"},
      {"magic.npy", "NUMPY but not", MatrixFormat::kNpy, StatusCode::kInvalidArgument,
       "not a .npy file"},
      {"version.npy", std::string("\x93NUMPY\x09\x00\x00\x00", 10), MatrixFormat::kNpy,
       StatusCode::kInvalidArgument, "unsupported .npy format version 9"},
      {"header.npy", std::string("\x93NUMPY\x01\x00\xff\x7f{}", 12), MatrixFormat::kNpy,
       StatusCode::kDataLoss, "header of 32767 bytes runs past the end"},
      {"dtype.npy", Npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }", f4_2x2),
       MatrixFormat::kNpy, StatusCode::kInvalidArgument, "dtype '<i8' is not supported"},
      {"bigendian.npy", Npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", f4_2x2),
       MatrixFormat::kNpy, StatusCode::kInvalidArgument, "dtype '>f4' is not supported"},
      {"fortran.npy", Npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", f4_2x2),
       MatrixFormat::kNpy, StatusCode::kInvalidArgument, "Fortran-order"},
      {"rank.npy", Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", f4_2x2),
       MatrixFormat::kNpy, StatusCode::kInvalidArgument, "a 2-D array (or a 3-D stack"},
      {"short.npy",
       Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f4_2x2.substr(0, 15)),
       MatrixFormat::kNpy, StatusCode::kDataLoss, "payload has 15 bytes"},
      {"long.npy", Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f4_2x2 + "x"),
       MatrixFormat::kNpy, StatusCode::kDataLoss, "payload has 17 bytes"},
      {"nofields.npy", Npy("{'descr': '<f4'}", f4_2x2), MatrixFormat::kNpy,
       StatusCode::kInvalidArgument, "lacks descr/fortran_order/shape"},
  };
  for (const Row& row : rows) {
    auto m = ParseMatrix(row.bytes, row.format, row.name);
    ASSERT_FALSE(m.ok()) << row.name;
    EXPECT_EQ(m.status().code(), row.code) << m.status().ToString();
    EXPECT_NE(m.status().message().find(row.fragment), std::string::npos)
        << row.name << ": " << m.status().message();
  }
  // Limits are checked before allocating the matrix.
  auto big = ParseMatrix(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (5, 5), }", ""),
                         MatrixFormat::kNpy, "big.npy", small);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted) << big.status().ToString();
  auto tall = ParseMatrix("1\n2\n3\n4\n5\n", MatrixFormat::kCsv, "tall.csv", small);
  EXPECT_EQ(tall.status().code(), StatusCode::kResourceExhausted) << tall.status().ToString();
  auto missing = ReadMatrixFile("/nonexistent/m.npy", MatrixFormat::kNpy);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(MatrixFileTest, ReadsFromDisk) {
  testing::TempDir dir;
  testing::WriteFile(dir / "m.csv", "0,2\n2,0\n");
  auto m = ReadMatrixFile(dir / "m.csv", MatrixFormat::kCsv);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->values, (std::vector<float>{0, 2, 2, 0}));
}

TEST(MatrixFileTest, OneDimensionalNpyIsARowOnlyWhenAsked) {
  const std::string vec = Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
                              Bytes(std::vector<float>{1, -2, 4}));
  auto refused = ParseMatrix(vec, MatrixFormat::kNpy, "v.npy");
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  MatrixFileLimits limits;
  limits.npy_vector_as_row = true;
  auto row = ParseMatrix(vec, MatrixFormat::kNpy, "v.npy", limits);
  ASSERT_TRUE(row.ok()) << row.status().ToString();
  EXPECT_EQ(row->rows, 1);
  EXPECT_EQ(row->cols, 3);
  EXPECT_EQ(row->values, (std::vector<float>{1, -2, 4}));
}

TEST(MatrixFileTest, WrittenNpyReadsBack) {
  testing::TempDir dir;
  Matrix m{2, 3, {0.5f, -1, 2, 3, 1e-7f, -4}, 1};
  ASSERT_TRUE(WriteNpyFile(dir / "m.npy", m).ok());
  auto back = ReadMatrixFile(dir / "m.npy", MatrixFormat::kNpy);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->rows, 2);
  EXPECT_EQ(back->cols, 3);
  EXPECT_EQ(back->depth, 1);
  EXPECT_EQ(back->values, m.values);
  Matrix stack{1, 2, {1, 2, 3, 4}, 2};
  ASSERT_TRUE(WriteNpyFile(dir / "s.npy", stack).ok());
  auto s = ReadMatrixFile(dir / "s.npy", MatrixFormat::kNpy);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->depth, 2);
  EXPECT_EQ(s->values, stack.values);
  Matrix short_values{2, 2, {1, 2, 3}, 1};
  EXPECT_EQ(WriteNpyFile(dir / "bad.npy", short_values).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteNpyFile(dir / "no" / "such" / "dir.npy", m).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace sinkscope::analyzers::io
