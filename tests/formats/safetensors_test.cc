// Tests of the safetensors reader/writer, sharded indexes and ReadCheckpointDir.
//
// Damaged files are built in code (corruption tables: one row per check of STYLE.md §4, each
// asserting a status code and a message fragment). reference.safetensors (written by the
// safetensors library, see tests/fixtures/make_format_fixtures.py) checks that we read what the
// reference implementation writes.
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/formats/checkpoint.h"
#include "models/formats/mapped_file.h"
#include "tests/support/test_support.h"

namespace sinkscope::formats {
namespace {

using ::sinkscope::testing::ExpectInputError;
using ::sinkscope::testing::FixturesDir;
using ::sinkscope::testing::FuzzIterations;
using ::sinkscope::testing::ReadFile;
using ::sinkscope::testing::TempDir;
using ::sinkscope::testing::WriteFile;

std::string U64Le(uint64_t v) {
  std::string out(8, '\0');
  std::memcpy(out.data(), &v, 8);
  return out;
}

// A safetensors file: length prefix, header, data.
std::string Safetensors(const std::string& header, const std::string& data = "") {
  return U64Le(header.size()) + header + data;
}

std::string Bytes(size_t n, char fill = '\0') {
  return std::string(n, fill);
}

// Exact comparison of a tensor with the expected.json format of make_format_fixtures.py.
void ExpectMatchesJson(const at::Tensor& t, const nlohmann::json& want, const std::string& key) {
  SCOPED_TRACE(key);
  const std::map<std::string, at::ScalarType> dtypes = {
      {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf},  {"BF16", at::kBFloat16},
      {"I64", at::kLong},   {"I32", at::kInt},   {"I16", at::kShort}, {"I8", at::kChar},
      {"U8", at::kByte},    {"BOOL", at::kBool}};
  ASSERT_EQ(t.scalar_type(), dtypes.at(want["dtype"].get<std::string>()));
  ASSERT_EQ(t.sizes().vec(), want["shape"].get<std::vector<int64_t>>());
  const auto& values = want["values"];
  ASSERT_EQ(static_cast<size_t>(t.numel()), values.size());
  if (t.is_floating_point()) {
    auto flat = t.to(at::kDouble).contiguous().reshape({-1});
    for (int64_t i = 0; i < flat.numel(); ++i) {
      ASSERT_EQ(flat[i].item<double>(), values[i].get<double>()) << "element " << i;
    }
  } else {
    auto flat = t.to(at::kLong).contiguous().reshape({-1});
    for (int64_t i = 0; i < flat.numel(); ++i) {
      ASSERT_EQ(flat[i].item<int64_t>(), values[i].get<int64_t>()) << "element " << i;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Corruption table

struct CorruptCase {
  std::string name;
  std::string bytes;
  StatusCode code;
  std::string fragment;
};

std::vector<CorruptCase> CorruptCases() {
  const std::string f32x2 = R"("dtype":"F32","shape":[2])";
  return {
      {"FileShorterThan8Bytes", "abc", StatusCode::kDataLoss, "too short for the 8-byte header"},
      {"EmptyFile", "", StatusCode::kDataLoss, "file is 0 bytes"},
      {"HeaderLengthPastEndOfFile", U64Le(100) + "{}", StatusCode::kDataLoss,
       "header length 100 exceeds the file size 10"},
      {"HeaderLengthOver100MB", U64Le((100ull << 20) + 1) + "{}", StatusCode::kDataLoss,
       "exceeds the limit of 104857600 bytes"},
      {"HeaderLengthWrapsAround", U64Le(~0ull) + "{}", StatusCode::kDataLoss, "exceeds the limit"},
      {"InvalidJson", Safetensors("{not json"), StatusCode::kDataLoss, "not valid JSON"},
      {"InvalidUtf8", Safetensors("{\"\xff\xfe\":{}}"), StatusCode::kDataLoss, "not valid JSON"},
      {"JsonNotObject", Safetensors("[1,2]"), StatusCode::kDataLoss,
       "header is a JSON array, not an object"},
      {"EntryNotObject", Safetensors(R"({"w":5})"), StatusCode::kDataLoss,
       "'w': header entry is a JSON number"},
      {"UnknownDtype",
       Safetensors(R"({"model.layers.0.w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})",
                   Bytes(1)),
       StatusCode::kUnimplemented, "'model.layers.0.w': dtype 'F8_E4M3' is not supported"},
      {"MissingDtype", Safetensors(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", Bytes(4)),
       StatusCode::kDataLoss, "'w': missing or non-string dtype"},
      {"MissingShape", Safetensors(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", Bytes(4)),
       StatusCode::kDataLoss, "'w': missing shape"},
      {"NegativeShape",
       Safetensors(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", Bytes(4)),
       StatusCode::kDataLoss, "not an array of non-negative integers"},
      {"FractionalShape",
       Safetensors(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", Bytes(4)),
       StatusCode::kDataLoss, "not an array of non-negative integers"},
      {"ShapeOverflows",
       Safetensors(R"({"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}})",
                   Bytes(4)),
       StatusCode::kDataLoss, "overflows"},
      {"MissingOffsets", Safetensors("{\"w\":{" + f32x2 + "}}", Bytes(8)), StatusCode::kDataLoss,
       "data_offsets must be two non-negative integers"},
      {"NegativeOffset", Safetensors("{\"w\":{" + f32x2 + ",\"data_offsets\":[-8,0]}}", Bytes(8)),
       StatusCode::kDataLoss, "data_offsets must be two non-negative integers"},
      {"BeginAfterEnd", Safetensors("{\"w\":{" + f32x2 + ",\"data_offsets\":[8,0]}}", Bytes(8)),
       StatusCode::kDataLoss, "'w': data_offsets [8,0) has begin > end"},
      {"ShapeTimesDtypeIsNotSpan",
       Safetensors("{\"w\":{" + f32x2 + ",\"data_offsets\":[0,4]}}", Bytes(4)),
       StatusCode::kDataLoss, "'w': shape [2] of F32 needs 8 bytes but data_offsets [0,4) span 4"},
      {"OffsetsPastEndOfData",
       Safetensors(
           "{\"model.layers.7.self_attn.k_proj.weight\":{" + f32x2 + ",\"data_offsets\":[4,12]}}",
           Bytes(8)),
       StatusCode::kDataLoss,
       "'model.layers.7.self_attn.k_proj.weight': data_offsets [4,12) exceed data size 8"},
      {"OverlappingSpans",
       Safetensors("{\"a\":{" + f32x2 + ",\"data_offsets\":[0,8]},\"b\":{" + f32x2 +
                       ",\"data_offsets\":[4,12]}}",
                   Bytes(12)),
       StatusCode::kDataLoss, "'b': data_offsets [4,12) overlap 'a' at [0,8)"},
      {"GapInData",
       Safetensors("{\"a\":{" + f32x2 + ",\"data_offsets\":[0,8]},\"b\":{" + f32x2 +
                       ",\"data_offsets\":[12,20]}}",
                   Bytes(20)),
       StatusCode::kDataLoss, "gap in the data: bytes [8,12) before 'b'"},
      {"TrailingBytesAfterLastTensor",
       Safetensors("{\"a\":{" + f32x2 + ",\"data_offsets\":[0,8]}}", Bytes(9)),
       StatusCode::kDataLoss, "bytes [8,9) at the end belong to no tensor"},
      {"DataWithoutTensors", Safetensors("{}", Bytes(4)), StatusCode::kDataLoss,
       "bytes [0,4) at the end"},
      {"DuplicateNames",
       Safetensors("{\"a\":{" + f32x2 + ",\"data_offsets\":[0,8]},\"a\":{" + f32x2 +
                       ",\"data_offsets\":[8,16]}}",
                   Bytes(16)),
       StatusCode::kDataLoss, "duplicate tensor name 'a'"},
      {"MetadataNotStrings", Safetensors(R"({"__metadata__":{"step":1000}})"),
       StatusCode::kDataLoss, "__metadata__ 'step' is a JSON number"},
      {"BoolByteNotZeroOrOne",
       Safetensors(R"({"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})", "\x01\x02"),
       StatusCode::kDataLoss, "'m': BOOL byte 2 at element 1"},
  };
}

TEST(SafetensorsReaderTest, RejectsCorruptFilesWithCodeAndMessage) {
  TempDir dir;
  for (const auto& c : CorruptCases()) {
    SCOPED_TRACE(c.name);
    const auto path = dir / (c.name + ".safetensors");
    WriteFile(path, c.bytes);
    auto result = ReadSafetensors(path);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), c.code) << result.status().ToString();
    EXPECT_NE(result.status().message().find(c.fragment), std::string::npos)
        << result.status().ToString();
    // Every message names the file first.
    EXPECT_EQ(result.status().message().rfind(path.string() + ": ", 0), 0u)
        << result.status().ToString();
  }
}

TEST(SafetensorsReaderTest, RejectsOffsetsPastEndOfData) {
  TempDir dir;
  const auto path = dir / "model-00002.safetensors";
  WriteFile(path,
            Safetensors(R"({"w":{"dtype":"F16","shape":[4],"data_offsets":[2,10]}})", Bytes(8)));
  auto result = ReadSafetensors(path);
  ASSERT_EQ(result.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(result.status().message(),
            path.string() + ": 'w': data_offsets [2,10) exceed data size 8");
}

TEST(SafetensorsReaderTest, MissingFileIsNotFound) {
  TempDir dir;
  auto result = ReadSafetensors(dir / "nope.safetensors");
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_NE(result.status().message().find("nope.safetensors"), std::string::npos);
}

TEST(SafetensorsReaderTest, DirectoryIsInvalidArgument) {
  TempDir dir;
  EXPECT_EQ(ReadSafetensors(dir.path()).status().code(), StatusCode::kInvalidArgument);
}

TEST(SafetensorsReaderTest, AcceptsEmptyHeaderScalarAndZeroSizeTensors) {
  TempDir dir;
  WriteFile(dir / "empty.safetensors", Safetensors("{}"));
  auto empty = ReadSafetensors(dir / "empty.safetensors");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->empty());

  // Padded header (trailing spaces, as the writer pads), scalar, zero-size tensors at the same
  // offset as a real one, and string metadata.
  std::string header =
      R"({"__metadata__":{"format":"pt"},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},)"
      R"("z":{"dtype":"I64","shape":[0,5],"data_offsets":[4,4]},)"
      R"("z2":{"dtype":"BF16","shape":[3,0],"data_offsets":[4,4]},)"
      R"("i":{"dtype":"I8","shape":[2],"data_offsets":[4,6]}}   )";
  const float s = 3.5f;
  std::string data(reinterpret_cast<const char*>(&s), 4);
  data += "\x05\xfb";
  WriteFile(dir / "mixed.safetensors", Safetensors(header, data));
  auto mixed = ReadSafetensors(dir / "mixed.safetensors");
  ASSERT_TRUE(mixed.ok()) << mixed.status().ToString();
  ASSERT_EQ(mixed->size(), 4u);
  EXPECT_EQ(mixed->at("s").dim(), 0);
  EXPECT_EQ(mixed->at("s").item<float>(), 3.5f);
  EXPECT_EQ(mixed->at("z").sizes().vec(), (std::vector<int64_t>{0, 5}));
  EXPECT_EQ(mixed->at("z").scalar_type(), at::kLong);
  EXPECT_EQ(mixed->at("z2").sizes().vec(), (std::vector<int64_t>{3, 0}));
  EXPECT_EQ(mixed->at("i")[0].item<int8_t>(), 5);
  EXPECT_EQ(mixed->at("i")[1].item<int8_t>(), -5);
}

TEST(SafetensorsReaderTest, ReadsFileWrittenByTheSafetensorsLibrary) {
  const auto dir = FixturesDir() / "formats";
  auto tensors = ReadSafetensors(dir / "reference.safetensors");
  ASSERT_TRUE(tensors.ok()) << tensors.status().ToString();
  const auto expected = nlohmann::json::parse(ReadFile(dir / "reference.expected.json"));
  ASSERT_EQ(tensors->size(), expected.size());
  for (const auto& [key, want] : expected.items()) {
    ASSERT_TRUE(tensors->count(key)) << key;
    ExpectMatchesJson(tensors->at(key), want, key);
  }
}

// ---------------------------------------------------------------------------------------------
// Round trip and aliasing

std::vector<std::pair<std::string, at::Tensor>> EveryDtype() {
  auto g = at::make_generator<at::CPUGeneratorImpl>(42);
  auto randn = [&](std::vector<int64_t> shape) { return at::randn(shape, g); };
  return {
      {"f64", randn({3, 2}).to(at::kDouble)},
      {"f32", randn({4, 3})},
      {"f16", randn({5}).to(at::kHalf)},
      {"bf16", randn({2, 3}).to(at::kBFloat16)},
      {"i64", at::tensor(std::vector<int64_t>{-(int64_t{1} << 40), -1, 0, int64_t{1} << 62})},
      {"i32", at::tensor(std::vector<int32_t>{-7, 1 << 30, 3})},
      {"i16", at::arange(-3, 3, at::kShort)},
      {"i8", at::tensor(std::vector<int8_t>{-128, 0, 127})},
      {"u8", at::tensor(std::vector<uint8_t>{0, 7, 255})},
      {"bool", at::tensor(std::vector<uint8_t>{1, 0, 1}).to(at::kBool)},
      {"scalar", at::scalar_tensor(-2.25, at::kFloat)},
      {"empty", at::zeros({0, 4}, at::kHalf)},
      {"transposed_input", randn({2, 3}).t()},  // written contiguous
  };
}

TEST(SafetensorsWriterTest, RoundTripsEveryDtypeScalarAndZeroSize) {
  TempDir dir;
  const auto path = dir / "all.safetensors";
  const auto tensors = EveryDtype();
  ASSERT_TRUE(WriteSafetensors(path, tensors, {{"source", "test"}}).ok());
  auto read = ReadSafetensors(path);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), tensors.size());
  for (const auto& [name, want] : tensors) {
    SCOPED_TRACE(name);
    const auto& got = read->at(name);
    EXPECT_EQ(got.scalar_type(), want.scalar_type());
    EXPECT_EQ(got.sizes(), want.sizes());
    EXPECT_TRUE(at::equal(got, want));
  }
}

TEST(SafetensorsWriterTest, KeepsHeaderOrderAlignsDataAndWritesMetadata) {
  TempDir dir;
  const auto path = dir / "order.safetensors";
  std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"z_first", at::ones({3}, at::kByte)},  // 3 bytes: would misalign what follows
      {"a_second", at::ones({2}, at::kDouble)},
      {"m_third", at::ones({3}, at::kHalf)},
  };
  ASSERT_TRUE(WriteSafetensors(path, tensors, {{"format", "pt"}}).ok());
  const std::string bytes = ReadFile(path);
  uint64_t header_size;
  std::memcpy(&header_size, bytes.data(), 8);
  EXPECT_EQ((8 + header_size) % 8, 0u);
  const std::string header = bytes.substr(8, header_size);
  EXPECT_LT(header.find("__metadata__"), header.find("z_first"));
  EXPECT_LT(header.find("z_first"), header.find("a_second"));
  EXPECT_LT(header.find("a_second"), header.find("m_third"));
  auto read = ReadSafetensors(path);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  // Every tensor starts aligned to its element size, so every one aliases the map.
  for (const auto& [name, t] : *read) {
    EXPECT_NE(MappingOf(t), nullptr) << name;
  }
}

TEST(SafetensorsReaderTest, AlignedTensorAliasesTheMemoryMap) {
  TempDir dir;
  const auto path = dir / "w.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, {{"w", at::arange(16, at::kFloat)}}).ok());
  at::Tensor w;
  {
    auto read = ReadSafetensors(path);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    w = read->at("w");
  }
  const MappedFile* map = MappingOf(w);
  ASSERT_NE(map, nullptr);
  EXPECT_EQ(map->path(), path);
  EXPECT_TRUE(map->Contains(w.data_ptr(), w.nbytes()));
  // The bytes the tensor sees are the file's bytes at its offset: same address, no copy.
  const std::string file = ReadFile(path);
  const auto offset = static_cast<const uint8_t*>(w.data_ptr()) - map->data();
  EXPECT_EQ(std::memcmp(file.data() + offset, w.data_ptr(), w.nbytes()), 0);
  // A second read maps the file again; the first map stays alive with its tensor even after the
  // TensorMap is gone and the file is unlinked.
  auto again = ReadSafetensors(path);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(MappingOf(again->at("w")), map);
  std::filesystem::remove(path);
  EXPECT_TRUE(at::equal(w, at::arange(16, at::kFloat)));
}

TEST(SafetensorsReaderTest, UnalignedTensorIsCopied) {
  TempDir dir;
  const auto path = dir / "unaligned.safetensors";
  // The header is padded to 8 bytes, so the F32 tensor at data offset 1 is misaligned.
  std::string header = R"({"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                       R"("f":{"dtype":"F32","shape":[1],"data_offsets":[1,5]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  const float f = 1.5f;
  WriteFile(path, Safetensors(header, "\x09" + std::string(reinterpret_cast<const char*>(&f), 4)));
  auto read = ReadSafetensors(path);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(MappingOf(read->at("f")), nullptr);
  EXPECT_NE(MappingOf(read->at("b")), nullptr);
  EXPECT_EQ(read->at("f").item<float>(), 1.5f);
  EXPECT_EQ(read->at("b").item<uint8_t>(), 9);
}

TEST(SafetensorsWriterTest, RejectsDuplicateNamesAndUnsupportedDtypesWithoutWriting) {
  TempDir dir;
  const auto path = dir / "bad.safetensors";
  auto dup = WriteSafetensors(path, {{"a", at::ones({1})}, {"a", at::ones({1})}});
  EXPECT_EQ(dup.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dup.message().find("duplicate tensor name 'a'"), std::string::npos);
  auto complex = WriteSafetensors(path, {{"c", at::ones({1}, at::kComplexFloat)}});
  EXPECT_EQ(complex.code(), StatusCode::kUnimplemented);
  EXPECT_NE(complex.message().find("'c'"), std::string::npos);
  auto reserved = WriteSafetensors(path, {{"__metadata__", at::ones({1})}});
  EXPECT_EQ(reserved.code(), StatusCode::kInvalidArgument);
  auto undefined = WriteSafetensors(path, {{"u", at::Tensor()}});
  EXPECT_EQ(undefined.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(SafetensorsWriterTest, FailedRenameLeavesNothingBehind) {
  TempDir dir;
  // The destination is a non-empty directory, so the final rename fails.
  const auto path = dir / "taken";
  WriteFile(path / "x", "x");
  auto status = WriteSafetensors(path, {{"a", at::ones({4})}});
  EXPECT_FALSE(status.ok());
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    names.push_back(e.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"taken"});
}

TEST(SafetensorsWriterTest, OverwritesExistingFileAtomically) {
  TempDir dir;
  const auto path = dir / "w.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, {{"a", at::ones({4})}}).ok());
  ASSERT_TRUE(WriteSafetensors(path, {{"b", at::zeros({2})}}).ok());
  auto read = ReadSafetensors(path);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->count("a"), 0u);
  EXPECT_EQ(read->count("b"), 1u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
}

TEST(SafetensorsWriterTest, MissingDirectoryIsNotFound) {
  TempDir dir;
  auto status = WriteSafetensors(dir / "no" / "such" / "dir.safetensors", {{"a", at::ones({1})}});
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------------------------
// Sharded checkpoints

struct ShardedDir {
  TempDir dir;
  std::filesystem::path index() const { return dir / "model.safetensors.index.json"; }
};

void WriteIndex(const std::filesystem::path& path, const nlohmann::json& weight_map) {
  WriteFile(path,
            nlohmann::json{{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}}.dump());
}

void WriteTwoShards(const TempDir& dir) {
  ASSERT_TRUE(WriteSafetensors(dir / "model-00001-of-00002.safetensors",
                               {{"a", at::ones({2})}, {"b", at::zeros({3})}})
                  .ok());
  ASSERT_TRUE(
      WriteSafetensors(dir / "model-00002-of-00002.safetensors", {{"c", at::full({1}, 7.0)}}).ok());
}

TEST(SafetensorsIndexTest, ReadsAllShards) {
  ShardedDir s;
  WriteTwoShards(s.dir);
  WriteIndex(s.index(), {{"a", "model-00001-of-00002.safetensors"},
                         {"b", "model-00001-of-00002.safetensors"},
                         {"c", "model-00002-of-00002.safetensors"}});
  auto read = ReadSafetensorsIndex(s.index());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->size(), 3u);
  EXPECT_EQ(read->at("c").item<float>(), 7.0f);
}

struct IndexCase {
  std::string name;
  std::string index_json;  // written as model.safetensors.index.json
  bool duplicate_c_in_first_shard;
  StatusCode code;
  std::string fragment;
};

TEST(SafetensorsIndexTest, RejectsInconsistentIndexes) {
  const std::string s1 = "model-00001-of-00002.safetensors";
  const std::string s2 = "model-00002-of-00002.safetensors";
  auto index = [](const nlohmann::json& wm) { return nlohmann::json{{"weight_map", wm}}.dump(); };
  const std::vector<IndexCase> cases = {
      {"DuplicateNamesAcrossShards", index({{"a", s1}, {"c", s2}}), true, StatusCode::kDataLoss,
       "'c' appears in both shard '" + s1 + "' and shard '" + s2 + "'"},
      {"MissingShard", index({{"a", s1}, {"x", "model-00003-of-00003.safetensors"}}), false,
       StatusCode::kDataLoss, "missing shard files"},
      {"TensorNotInItsShard", index({{"a", s1}, {"c", s1}}), false, StatusCode::kDataLoss,
       "'c' is not in shard '" + s1 + "'"},
      {"ShardNameWithSlash", index({{"a", "../model.safetensors"}}), false, StatusCode::kDataLoss,
       "not a plain file name"},
      {"ShardNameDotDot", index({{"a", ".."}}), false, StatusCode::kDataLoss,
       "not a plain file name"},
      {"ShardNameNotString", index({{"a", 3}}), false, StatusCode::kDataLoss, "not a file name"},
      {"NoWeightMap", R"({"metadata":{}})", false, StatusCode::kDataLoss, "no \"weight_map\""},
      {"InvalidJson", "{", false, StatusCode::kDataLoss, "not valid JSON"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ShardedDir s;
    WriteTwoShards(s.dir);
    if (c.duplicate_c_in_first_shard) {
      ASSERT_TRUE(WriteSafetensors(s.dir / s1, {{"a", at::ones({2})}, {"c", at::ones({1})}}).ok());
    }
    WriteFile(s.index(), c.index_json);
    auto read = ReadSafetensorsIndex(s.index());
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.status().code(), c.code) << read.status().ToString();
    EXPECT_NE(read.status().message().find(c.fragment), std::string::npos)
        << read.status().ToString();
  }
}

TEST(SafetensorsIndexTest, MissingShardMessageNamesTheShard) {
  ShardedDir s;
  WriteTwoShards(s.dir);
  WriteIndex(s.index(), {{"a", "model-00001-of-00002.safetensors"},
                         {"q", "model-00009-of-00009.safetensors"}});
  auto read = ReadSafetensorsIndex(s.index());
  ASSERT_EQ(read.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(read.status().message().find("'model-00009-of-00009.safetensors' (1 tensors, e.g. "
                                         "'q')"),
            std::string::npos)
      << read.status().ToString();
}

TEST(SafetensorsIndexTest, CorruptShardErrorNamesTheShardFile) {
  ShardedDir s;
  WriteTwoShards(s.dir);
  WriteFile(s.dir / "model-00002-of-00002.safetensors", "short");
  WriteIndex(s.index(), {{"c", "model-00002-of-00002.safetensors"}});
  auto read = ReadSafetensorsIndex(s.index());
  ASSERT_EQ(read.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(read.status().message().find("model-00002-of-00002.safetensors: file is 5 bytes"),
            std::string::npos)
      << read.status().ToString();
}

// ---------------------------------------------------------------------------------------------
// ReadCheckpointDir

TEST(CheckpointDirTest, PrefersSingleSafetensorsThenIndexThenBin) {
  TempDir dir;
  std::filesystem::copy_file(FixturesDir() / "formats" / "plain_state_dict.bin",
                             dir / "pytorch_model.bin");
  auto bin = ReadCheckpointDir(dir.path());
  ASSERT_TRUE(bin.ok()) << bin.status().ToString();
  EXPECT_EQ(bin->count("f32"), 1u);

  WriteTwoShards(dir);
  WriteIndex(dir / "model.safetensors.index.json", {{"c", "model-00002-of-00002.safetensors"}});
  auto sharded = ReadCheckpointDir(dir.path());
  ASSERT_TRUE(sharded.ok()) << sharded.status().ToString();
  EXPECT_EQ(sharded->size(), 1u);
  EXPECT_EQ(sharded->count("c"), 1u);

  ASSERT_TRUE(WriteSafetensors(dir / "model.safetensors", {{"single", at::ones({1})}}).ok());
  auto single = ReadCheckpointDir(dir.path());
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  EXPECT_EQ(single->count("single"), 1u);
}

TEST(CheckpointDirTest, ReadsShardedBinIndex) {
  TempDir dir;
  std::filesystem::copy_file(FixturesDir() / "formats" / "plain_state_dict.bin",
                             dir / "pytorch_model-00001-of-00002.bin");
  std::filesystem::copy_file(FixturesDir() / "formats" / "parameter.bin",
                             dir / "pytorch_model-00002-of-00002.bin");
  WriteIndex(dir / "pytorch_model.bin.index.json", {{"f32", "pytorch_model-00001-of-00002.bin"},
                                                    {"p", "pytorch_model-00002-of-00002.bin"}});
  auto read = ReadCheckpointDir(dir.path());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->count("f32"), 1u);
  EXPECT_EQ(read->count("p"), 1u);
}

TEST(CheckpointDirTest, NotFoundListsTheCandidates) {
  TempDir dir;
  auto read = ReadCheckpointDir(dir.path());
  ASSERT_EQ(read.status().code(), StatusCode::kNotFound);
  for (const char* name : {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                           "pytorch_model.bin.index.json"}) {
    EXPECT_NE(read.status().message().find(name), std::string::npos) << name;
  }
  EXPECT_EQ(ReadCheckpointDir(dir / "missing").status().code(), StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------------------------
// Cheap in-test fuzz: damaged copies of a valid file must give OK or an error, never a crash.

TEST(SafetensorsReaderTest, SurvivesRandomByteFlipsAndTruncations) {
  TempDir dir;
  const auto valid_path = dir / "valid.safetensors";
  ASSERT_TRUE(WriteSafetensors(valid_path, EveryDtype(), {{"k", "v"}}).ok());
  const std::string valid = ReadFile(valid_path);
  uint64_t header_size;
  std::memcpy(&header_size, valid.data(), 8);
  std::mt19937_64 rng(20240601);
  int ok = 0, failed = 0;
  const int iterations = FuzzIterations();
  for (int i = 0; i < iterations; ++i) {
    std::string bytes = valid;
    const int kind = static_cast<int>(rng() % 4);
    if (kind == 0) {
      bytes.resize(rng() % bytes.size());  // truncate
    } else {
      // Flip 1-4 bytes, mostly inside the length prefix and the JSON header.
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        const size_t limit = kind == 3 ? bytes.size() : 8 + header_size;
        const size_t pos = rng() % limit;
        bytes[pos] = static_cast<char>(kind == 1 ? bytes[pos] ^ (1 << (rng() % 8)) : rng());
      }
    }
    const auto path = dir / "fuzz.safetensors";
    WriteFile(path, bytes);
    auto read = ReadSafetensors(path);
    if (read.ok()) {
      ++ok;
      // Touch every tensor's memory: aliasing must stay within the map.
      for (const auto& [name, t] : *read) (void)t.sum().item<double>();
    } else {
      ++failed;
      ExpectInputError(read.status());
    }
  }
  EXPECT_EQ(ok + failed, iterations);
  EXPECT_GT(failed, 0);
}

}  // namespace
}  // namespace sinkscope::formats
