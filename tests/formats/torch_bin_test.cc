// Tests of the torch zip checkpoint reader, its zip parser and the restricted unpickler.
//
// Fixtures come from tests/fixtures/make_format_fixtures.py (torch 2.9.1); exact expected
// values are in *.expected.json next to them. Hostile pickles and damaged zips are built here,
// byte by byte, with the opcode formats of CPython's Lib/pickletools.py and the record layouts of
// PKWARE's APPNOTE.
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/formats/checkpoint.h"
#include "models/formats/mapped_file.h"
#include "models/formats/restricted_unpickler_internal.h"
#include "models/formats/zip_archive_internal.h"
#include "tests/support/test_support.h"

namespace sinkscope::formats {
namespace {

using ::sinkscope::testing::ExpectInputError;
using ::sinkscope::testing::FixturesDir;
using ::sinkscope::testing::FuzzIterations;
using ::sinkscope::testing::ReadFile;
using ::sinkscope::testing::TempDir;
using ::sinkscope::testing::WriteFile;
using namespace std::string_literals;

std::filesystem::path Fixture(const std::string& name) {
  return FixturesDir() / "formats" / name;
}

bool Contains(const Status& s, const std::string& fragment) {
  return s.message().find(fragment) != std::string::npos;
}

void ExpectMatchesExpectedJson(const TensorMap& tensors, const std::string& json_name) {
  const auto expected = nlohmann::json::parse(ReadFile(Fixture(json_name)));
  const std::map<std::string, at::ScalarType> dtypes = {
      {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf},  {"BF16", at::kBFloat16},
      {"I64", at::kLong},   {"I32", at::kInt},   {"I16", at::kShort}, {"I8", at::kChar},
      {"U8", at::kByte},    {"BOOL", at::kBool}};
  ASSERT_EQ(tensors.size(), expected.size());
  for (const auto& [key, want] : expected.items()) {
    SCOPED_TRACE(key);
    ASSERT_EQ(tensors.count(key), 1u);
    const at::Tensor& t = tensors.at(key);
    ASSERT_EQ(t.scalar_type(), dtypes.at(want["dtype"].get<std::string>()));
    ASSERT_EQ(t.sizes().vec(), want["shape"].get<std::vector<int64_t>>());
    const auto& values = want["values"];
    ASSERT_EQ(static_cast<size_t>(t.numel()), values.size());
    const bool fp = t.is_floating_point();
    auto flat = t.to(fp ? at::kDouble : at::kLong).contiguous().reshape({-1});
    for (int64_t i = 0; i < flat.numel(); ++i) {
      if (fp) {
        ASSERT_EQ(flat[i].item<double>(), values[i].get<double>()) << "element " << i;
      } else {
        ASSERT_EQ(flat[i].item<int64_t>(), values[i].get<int64_t>()) << "element " << i;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Fixtures written by torch.save

TEST(TorchBinReaderTest, ReadsPlainStateDictWithExactValues) {
  auto tensors = ReadTorchBin(Fixture("plain_state_dict.bin"));
  ASSERT_TRUE(tensors.ok()) << tensors.status().ToString();
  ExpectMatchesExpectedJson(*tensors, "plain_state_dict.expected.json");
}

TEST(TorchBinReaderTest, SharedStoragesAliasTheMapAndStridedViewsAreCopied) {
  auto tensors = ReadTorchBin(Fixture("plain_state_dict.bin"));
  ASSERT_TRUE(tensors.ok()) << tensors.status().ToString();
  const auto& t = *tensors;
  // "tied" is the same tensor object as "f32" in Python: one storage, same address, in the map.
  ASSERT_NE(MappingOf(t.at("f32")), nullptr);
  EXPECT_EQ(t.at("tied").data_ptr(), t.at("f32").data_ptr());
  // "sliced" is a contiguous view at storage offset 3: still zero copy.
  ASSERT_NE(MappingOf(t.at("sliced")), nullptr);
  EXPECT_EQ(t.at("sliced").storage_offset(), 3);
  // "transposed" and "strided" are not contiguous: they come back as contiguous copies.
  for (const char* name : {"transposed", "strided"}) {
    EXPECT_TRUE(t.at(name).is_contiguous()) << name;
    EXPECT_EQ(MappingOf(t.at(name)), nullptr) << name;
  }
  EXPECT_TRUE(at::equal(t.at("transposed"), t.at("f32").t()));
}

TEST(TorchBinReaderTest, ReadsModuleStateDictWithMetadataBuild) {
  auto tensors = ReadTorchBin(Fixture("module_state_dict.bin"));
  ASSERT_TRUE(tensors.ok()) << tensors.status().ToString();
  ExpectMatchesExpectedJson(*tensors, "module_state_dict.expected.json");
}

TEST(TorchBinReaderTest, FlattensNestedDictsAndLists) {
  auto tensors = ReadTorchBin(Fixture("nested.bin"));
  ASSERT_TRUE(tensors.ok()) << tensors.status().ToString();
  ExpectMatchesExpectedJson(*tensors, "nested.expected.json");
  EXPECT_EQ(tensors->count("model.0.weight"), 1u);
  EXPECT_EQ(tensors->count("aux.1"), 1u);
}

TEST(TorchBinReaderTest, ReadsParameters) {
  auto tensors = ReadTorchBin(Fixture("parameter.bin"));
  ASSERT_TRUE(tensors.ok()) << tensors.status().ToString();
  ExpectMatchesExpectedJson(*tensors, "parameter.expected.json");
}

TEST(TorchBinReaderTest, RejectsNonTensorLeaf) {
  auto tensors = ReadTorchBin(Fixture("non_tensor_leaf.bin"));
  ASSERT_EQ(tensors.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(tensors.status(), "'step' is an int, not a tensor"))
      << tensors.status().ToString();
}

TEST(TorchBinReaderTest, RejectsMaliciousGlobalWithoutRunningIt) {
  auto tensors = ReadTorchBin(Fixture("malicious_posix_system.bin"));
  ASSERT_EQ(tensors.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(tensors.status(), "global 'posix.system' is not allowed"))
      << tensors.status().ToString();
}

TEST(TorchBinReaderTest, LegacyFormatIsUnimplemented) {
  auto tensors = ReadTorchBin(Fixture("legacy_format.bin"));
  ASSERT_EQ(tensors.status().code(), StatusCode::kUnimplemented);
  EXPECT_TRUE(Contains(tensors.status(), "legacy (non-zip) torch serialization format"))
      << tensors.status().ToString();
}

TEST(TorchBinReaderTest, CompressedEntryIsUnimplemented) {
  auto tensors = ReadTorchBin(Fixture("compressed_entries.bin"));
  ASSERT_EQ(tensors.status().code(), StatusCode::kUnimplemented);
  EXPECT_TRUE(Contains(tensors.status(), "is compressed (method 8)"))
      << tensors.status().ToString();
}

TEST(TorchBinReaderTest, TruncatedZipIsDataLoss) {
  TempDir dir;
  const std::string valid = ReadFile(Fixture("plain_state_dict.bin"));
  for (size_t keep : {size_t{0}, size_t{3}, size_t{30}, valid.size() / 2, valid.size() - 1}) {
    SCOPED_TRACE(keep);
    WriteFile(dir / "t.bin", valid.substr(0, keep));
    auto tensors = ReadTorchBin(dir / "t.bin");
    EXPECT_EQ(tensors.status().code(), StatusCode::kDataLoss) << tensors.status().ToString();
  }
}

TEST(TorchBinReaderTest, NotAZipIsDataLossAndMissingFileIsNotFound) {
  TempDir dir;
  WriteFile(dir / "garbage.bin", "this is not a checkpoint at all");
  auto garbage = ReadTorchBin(dir / "garbage.bin");
  EXPECT_EQ(garbage.status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(garbage.status(), "not a torch zip checkpoint"));
  EXPECT_EQ(ReadTorchBin(dir / "missing.bin").status().code(), StatusCode::kNotFound);
}

// A checkpoint written by transformers' save_pretrained (safe_serialization=False) must hold
// the same weights as its safetensors twin. Fixtures of tests/fixtures/make_fixtures.py.
TEST(TorchBinReaderTest, MatchesSafetensorsTwinFromTransformers) {
  const auto bin = FixturesDir() / "tiny" / "gpt2_bin" / "pytorch_model.bin";
  const auto st = FixturesDir() / "tiny" / "gpt2" / "model.safetensors";
  if (!std::filesystem::exists(bin) || !std::filesystem::exists(st)) {
    GTEST_SKIP() << "tiny gpt2 fixtures not generated";
  }
  auto from_bin = ReadTorchBin(bin);
  ASSERT_TRUE(from_bin.ok()) << from_bin.status().ToString();
  auto from_st = ReadSafetensors(st);
  ASSERT_TRUE(from_st.ok()) << from_st.status().ToString();
  for (const auto& [name, t] : *from_st) {
    ASSERT_EQ(from_bin->count(name), 1u) << name;
    EXPECT_TRUE(at::equal(from_bin->at(name), t)) << name;
  }
}

// ---------------------------------------------------------------------------------------------
// Hand-built zips

std::string Le(uint64_t v, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return out;
}

// A stored-only zip writer. With `zip64`, sizes and offsets in the central directory are
// saturated and carried by zip64 extra fields, and the end records are the zip64 ones.
std::string MakeZip(const std::vector<std::pair<std::string, std::string>>& files,
                    bool zip64 = false, uint16_t method = 0) {
  std::string out, central;
  for (const auto& [name, data] : files) {
    const uint64_t offset = out.size();
    const uint32_t crc = Crc32(data);
    out += Le(0x04034b50, 4) + Le(20, 2) + Le(0, 2) + Le(method, 2) + Le(0, 4) + Le(crc, 4) +
           Le(data.size(), 4) + Le(data.size(), 4) + Le(name.size(), 2) + Le(0, 2) + name + data;
    std::string extra;
    if (zip64)
      extra = Le(1, 2) + Le(24, 2) + Le(data.size(), 8) + Le(data.size(), 8) + Le(offset, 8);
    const uint64_t sat = 0xFFFFFFFF;
    central += Le(0x02014b50, 4) + Le(45, 2) + Le(45, 2) + Le(0, 2) + Le(method, 2) + Le(0, 4) +
               Le(crc, 4) + Le(zip64 ? sat : data.size(), 4) + Le(zip64 ? sat : data.size(), 4) +
               Le(name.size(), 2) + Le(extra.size(), 2) + Le(0, 2) + Le(0, 2) + Le(0, 2) +
               Le(0, 4) + Le(zip64 ? sat : offset, 4) + name + extra;
  }
  const uint64_t cd_offset = out.size();
  out += central;
  if (zip64) {
    const uint64_t record = out.size();
    out += Le(0x06064b50, 4) + Le(44, 8) + Le(45, 2) + Le(45, 2) + Le(0, 4) + Le(0, 4) +
           Le(files.size(), 8) + Le(files.size(), 8) + Le(central.size(), 8) + Le(cd_offset, 8);
    out += Le(0x07064b50, 4) + Le(0, 4) + Le(record, 8) + Le(1, 4);
    out += Le(0x06054b50, 4) + Le(0, 2) + Le(0, 2) + Le(0xFFFF, 2) + Le(0xFFFF, 2) +
           Le(0xFFFFFFFF, 4) + Le(0xFFFFFFFF, 4) + Le(0, 2);
  } else {
    out += Le(0x06054b50, 4) + Le(0, 2) + Le(0, 2) + Le(files.size(), 2) + Le(files.size(), 2) +
           Le(central.size(), 4) + Le(cd_offset, 4) + Le(0, 2);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pickle building blocks (protocol 2 opcodes)

std::string Str(const std::string& s) {
  return "X" + Le(s.size(), 4) + s;
}
std::string Global(const std::string& module, const std::string& name) {
  return "c" + module + "\n" + name + "\n";
}
std::string Int(int32_t v) {
  return "J" + Le(static_cast<uint32_t>(v), 4);
}
std::string IntTuple(const std::vector<int32_t>& v) {
  std::string out = "(";
  for (int32_t x : v) out += Int(x);
  return out + "t";
}
const std::string kProto = "\x80\x02";
const std::string kStop = ".";
const std::string kEmptyOrderedDict = Global("collections", "OrderedDict") + ")R";

// _rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())
std::string Tensor(const std::string& key, const std::string& storage_type, int32_t numel,
                   int32_t offset, const std::vector<int32_t>& size,
                   const std::vector<int32_t>& stride) {
  return Global("torch._utils", "_rebuild_tensor_v2") + "((" + Str("storage") +
         Global("torch", storage_type) + Str(key) + Str("cpu") + Int(numel) + "tQ" + Int(offset) +
         IntTuple(size) + IntTuple(stride) + "\x89" + kEmptyOrderedDict + "tR";
}

// {"name": tensor}
std::string StateDict(const std::string& name, const std::string& tensor) {
  return kProto + "}" + Str(name) + tensor + "s" + kStop;
}

// A loader over in-memory storages: arange(numel) of the requested dtype, at most 2^20 elements
// (the real loader is bounded by the record size).
StatusOr<at::Tensor> FakeStorage(const StorageRequest& r) {
  if (r.numel > (1 << 20)) return DataLossError("fake storage too large");
  return at::arange(r.numel, at::kLong).to(r.dtype);
}

StatusOr<TensorMap> Unpickle(const std::string& pickle, UnpickleLimits limits = {}) {
  return UnpickleStateDict(pickle, &FakeStorage, limits);
}

TEST(RestrictedUnpicklerTest, BuildsTensorFromPersistentStorage) {
  auto t = Unpickle(StateDict("w", Tensor("0", "FloatStorage", 6, 1, {2, 2}, {2, 1})));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE(at::equal(t->at("w"), at::arange(1, 5, at::kFloat).reshape({2, 2})));
}

TEST(RestrictedUnpicklerTest, AcceptsEmptyBuildOnTensorAndRebuildParameter) {
  const std::string tensor = Tensor("0", "HalfStorage", 3, 0, {3}, {1});
  // BUILD with empty state (None) on a tensor.
  auto built = Unpickle(StateDict("w", tensor + "Nb"));
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  EXPECT_EQ(built->at("w").scalar_type(), at::kHalf);
  // _rebuild_parameter(tensor, True, OrderedDict())
  auto param = Unpickle(StateDict("p", Global("torch._utils", "_rebuild_parameter") + "(" + tensor +
                                           "\x88" + kEmptyOrderedDict + "tR"));
  ASSERT_TRUE(param.ok()) << param.status().ToString();
  EXPECT_EQ(param->at("p").numel(), 3);
}

struct PickleCase {
  std::string name;
  std::string pickle;
  StatusCode code;
  std::string fragment;
};

TEST(RestrictedUnpicklerTest, RejectsHostileAndMalformedPickles) {
  const std::string tensor = Tensor("0", "FloatStorage", 4, 0, {4}, {1});
  std::string deep = kProto;
  for (int i = 0; i < 70; ++i) deep += "]";
  for (int i = 0; i < 69; ++i) deep += "a";
  deep += "0}.";
  const std::vector<PickleCase> cases = {
      {"BuiltinsEval", kProto + Global("builtins", "eval") + "(" + Str("1") + "tR.",
       StatusCode::kInvalidArgument, "global 'builtins.eval' is not allowed"},
      {"OsSystem", kProto + Global("os", "system") + "(" + Str("id") + "tR.",
       StatusCode::kInvalidArgument, "global 'os.system' is not allowed"},
      {"StackGlobalSubprocess", kProto + Str("subprocess") + Str("Popen") + "\x93" + ")R.",
       StatusCode::kInvalidArgument, "global 'subprocess.Popen' is not allowed"},
      {"ArbitraryClass", kProto + Global("__main__", "Exploit") + ")R.",
       StatusCode::kInvalidArgument, "'__main__.Exploit'"},
      {"InstOpcode", kProto + "(i__main__\nX\n.", StatusCode::kInvalidArgument,
       "pickle opcode INST is not allowed"},
      {"NewObjOpcode", kProto + kEmptyOrderedDict + ")\x81.", StatusCode::kInvalidArgument,
       "NEWOBJ"},
      {"InvalidOpcode", kProto + "\xff.", StatusCode::kDataLoss, "invalid pickle opcode 0xff"},
      {"StackUnderflow", kProto + "R.", StatusCode::kDataLoss, "stack underflow"},
      {"UnderflowBelowMark", kProto + "}(s.", StatusCode::kDataLoss, "stack underflow"},
      {"NoStop", kProto + "}", StatusCode::kDataLoss, "without STOP"},
      {"TruncatedString", kProto + "X\x10\x00\x00\x00"s + "abc", StatusCode::kDataLoss,
       "truncated"},
      {"HugeStringLength", kProto + "X\xff\xff\xff\x7f" + "abc", StatusCode::kDataLoss,
       "exceeds the limit"},
      {"InvalidUtf8", kProto + "}" + Str("\xc3\x28") + tensor + "s.", StatusCode::kDataLoss,
       "not valid UTF-8"},
      {"MissingMemo", kProto + "h\x05.", StatusCode::kDataLoss, "memo key 5 was never stored"},
      {"WrongTypeForSetitem", kProto + "]" + Str("k") + Str("v") + "s.", StatusCode::kDataLoss,
       "SETITEM on a list"},
      {"ReduceNonGlobal", kProto + Str("x") + ")R.", StatusCode::kDataLoss, "REDUCE calls a str"},
      {"ListContainsItself", kProto + "]q\x00h\x00"s + "a."s, StatusCode::kInvalidArgument,
       "contains itself"},
      {"CycleThroughTuple", kProto + "]q\x00h\x00\x85q\x01"s + "0h\x00h\x01"s + "a."s,
       StatusCode::kInvalidArgument, "after it was nested"},
      {"NestingTooDeep", deep, StatusCode::kDataLoss, "nested deeper than 64"},
      {"TopLevelList", kProto + "].", StatusCode::kInvalidArgument, "holds a list, not a dict"},
      {"TwoValuesAtStop", kProto + "}}.", StatusCode::kDataLoss, "STOP with 2 values"},
      {"NonTensorLeafNested",
       kProto + "}" + Str("model") + "}" + Str("lr") + "G\x3f\xb9\x99\x99\x99\x99\x99\x9a" + "ss.",
       StatusCode::kInvalidArgument, "'model.lr' is a float, not a tensor"},
      {"NoneLeaf", kProto + "}" + Str("x") + "Ns.", StatusCode::kInvalidArgument,
       "'x' is None, not a tensor"},
      {"BadPersistentId", kProto + "}" + Str("w") + Str("storage") + "Qs.", StatusCode::kDataLoss,
       "persistent id is not a ('storage'"},
      {"StorageTypeNotStorage",
       kProto + "((" + Str("storage") + kEmptyOrderedDict + Str("0") + Str("cpu") + Int(1) + "tQ.",
       StatusCode::kDataLoss, "not a torch storage class"},
      {"ViewPastStorage", StateDict("w", Tensor("0", "FloatStorage", 4, 2, {3}, {1})),
       StatusCode::kDataLoss, "reaches element 4 of a storage of 4 elements"},
      {"NegativeSize", StateDict("w", Tensor("0", "FloatStorage", 4, 0, {-1}, {1})),
       StatusCode::kDataLoss, "non-negative ints"},
      {"SizeStrideRankMismatch", StateDict("w", Tensor("0", "FloatStorage", 4, 0, {2, 2}, {1})),
       StatusCode::kDataLoss, "2 sizes but 1 strides"},
      {"ExpandedViewOverCopyBudget",
       StateDict("w", Tensor("0", "FloatStorage", 1, 0, {1 << 20, 1 << 20}, {0, 0})),
       StatusCode::kResourceExhausted, "more than the limit"},
      {"BuildWithStateOnTensor", StateDict("w", tensor + "}" + Str("a") + Int(1) + "sb"),
       StatusCode::kInvalidArgument, "BUILD with non-empty state on a tensor"},
      {"BackwardHooks",
       StateDict("w", Global("torch._utils", "_rebuild_tensor_v2") + "((" + Str("storage") +
                          Global("torch", "FloatStorage") + Str("0") + Str("cpu") + Int(1) + "tQ" +
                          Int(0) + IntTuple({1}) + IntTuple({1}) + "\x89" + "}" + Int(1) + Int(2) +
                          "s" + "tR"),
       StatusCode::kInvalidArgument, "backward hooks"},
      {"CallingStorageClass", kProto + Global("torch", "FloatStorage") + ")R.",
       StatusCode::kInvalidArgument, "calling storage class"},
      {"HugeLong", kProto + "\x8b\x00\x01\x00\x00."s, StatusCode::kInvalidArgument,
       "does not fit in 64 bits"},
      {"ProtocolTooNew", "\x80\x09}.", StatusCode::kDataLoss, "unsupported pickle protocol 9"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto result = Unpickle(c.pickle);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), c.code) << result.status().ToString();
    EXPECT_TRUE(Contains(result.status(), c.fragment)) << result.status().ToString();
  }
}

TEST(RestrictedUnpicklerTest, SharedSubDictsCannotExplodeTheFlattening) {
  // d0 = {"a": t}; d_{i+1} = {"a": d_i, "b": d_i}: 2^40 leaves from a few hundred bytes.
  std::string p = kProto + "}q\x00"s + Str("a") + Tensor("0", "FloatStorage", 1, 0, {1}, {1}) + "s";
  for (int i = 0; i < 40; ++i) {
    const std::string get = "h" + std::string(1, static_cast<char>(i));
    const std::string put = "q" + std::string(1, static_cast<char>(i + 1));
    p += "0}" + put + "(" + Str("a") + get + Str("b") + get + "u";
  }
  p += ".";
  auto result = Unpickle(p);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << result.status().ToString();
  EXPECT_TRUE(Contains(result.status(), "visits more entries")) << result.status().ToString();
}

TEST(ZipArchiveTest, ReadsZip64CentralDirectory) {
  const std::string pickle = StateDict("w", Tensor("0", "FloatStorage", 2, 0, {2}, {1}));
  const float data[2] = {1.5f, -2.0f};
  TempDir dir;
  WriteFile(dir / "z64.bin",
            MakeZip({{"archive/data.pkl", pickle},
                     {"archive/byteorder", "little"},
                     {"archive/data/0", std::string(reinterpret_cast<const char*>(data), 8)}},
                    /*zip64=*/true));
  auto tensors = ReadTorchBin(dir / "z64.bin");
  ASSERT_TRUE(tensors.ok()) << tensors.status().ToString();
  EXPECT_EQ(tensors->at("w")[1].item<float>(), -2.0f);
}

struct ZipCase {
  std::string name;
  std::string bytes;
  StatusCode code;
  std::string fragment;
};

TEST(ZipArchiveTest, RejectsDamagedArchives) {
  const std::string pickle = StateDict("w", Tensor("0", "FloatStorage", 2, 0, {2}, {1}));
  const std::string data(8, '\0');
  auto zip = [&](std::vector<std::pair<std::string, std::string>> files) { return MakeZip(files); };
  std::string bad_crc = zip({{"a/data.pkl", pickle}, {"a/data/0", data}});
  bad_crc[30 + std::string("a/data.pkl").size() + 3] ^= 0x01;  // a byte inside data.pkl
  std::string bad_cd_offset = zip({{"a/data.pkl", pickle}, {"a/data/0", data}});
  bad_cd_offset[bad_cd_offset.size() - 6] = '\x7f';  // EOCD central directory offset
  const std::vector<ZipCase> cases = {
      {"BigEndian", zip({{"a/data.pkl", pickle}, {"a/byteorder", "big"}, {"a/data/0", data}}),
       StatusCode::kUnimplemented, "big-endian"},
      {"BadByteorder", zip({{"a/data.pkl", pickle}, {"a/byteorder", "middle"}}),
       StatusCode::kDataLoss, "byteorder record holds 'middle'"},
      {"NoDataPkl", zip({{"a/other.pkl", pickle}}), StatusCode::kDataLoss,
       "no '<archive>/data.pkl'"},
      {"TwoDataPkl", zip({{"a/data.pkl", pickle}, {"b/data.pkl", pickle}}), StatusCode::kDataLoss,
       "2 '<archive>/data.pkl'"},
      {"DuplicateEntry", zip({{"a/data.pkl", pickle}, {"a/data.pkl", pickle}}),
       StatusCode::kDataLoss, "two entries named 'a/data.pkl'"},
      {"MissingStorage", zip({{"a/data.pkl", pickle}}), StatusCode::kDataLoss,
       "storage record 'a/data/0' is missing"},
      {"StorageSizeMismatch", zip({{"a/data.pkl", pickle}, {"a/data/0", "1234"}}),
       StatusCode::kDataLoss, "has 4 bytes but the pickle says 2 x Float"},
      {"CrcMismatch", bad_crc, StatusCode::kDataLoss, "CRC-32"},
      {"CentralDirectoryOutside", bad_cd_offset, StatusCode::kDataLoss, "central directory"},
      {"DeflatedEntry", MakeZip({{"a/data.pkl", pickle}}, false, 8), StatusCode::kUnimplemented,
       "compressed (method 8)"},
      {"TorchScript", zip({{"a/data.pkl", pickle}, {"a/constants.pkl", pickle}}),
       StatusCode::kUnimplemented, "TorchScript"},
      {"EmptyZip", zip({}), StatusCode::kDataLoss, "no '<archive>/data.pkl'"},
  };
  TempDir dir;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    WriteFile(dir / "z.bin", c.bytes);
    auto result = ReadTorchBin(dir / "z.bin");
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), c.code) << result.status().ToString();
    EXPECT_TRUE(Contains(result.status(), c.fragment)) << result.status().ToString();
  }
}

// ---------------------------------------------------------------------------------------------
// Cheap in-test fuzz

TEST(TorchBinReaderTest, SurvivesRandomByteFlipsAndTruncations) {
  TempDir dir;
  const std::string valid = ReadFile(Fixture("plain_state_dict.bin"));
  std::mt19937_64 rng(7);
  int failed = 0;
  const int iterations = FuzzIterations();
  for (int i = 0; i < iterations; ++i) {
    std::string bytes = valid;
    if (rng() % 4 == 0) {
      bytes.resize(rng() % bytes.size());
    } else {
      // Mostly the end records and central directory (last 30%), sometimes anywhere.
      const size_t flips = 1 + rng() % 4;
      for (size_t f = 0; f < flips; ++f) {
        const size_t start = rng() % 2 ? bytes.size() * 7 / 10 : 0;
        const size_t pos = start + rng() % (bytes.size() - start);
        bytes[pos] = static_cast<char>(rng() % 2 ? bytes[pos] ^ (1 << (rng() % 8)) : rng());
      }
    }
    WriteFile(dir / "fuzz.bin", bytes);
    auto read = ReadTorchBin(dir / "fuzz.bin");
    if (read.ok()) {
      for (const auto& [name, t] : *read) (void)t.to(at::kDouble).sum().item<double>();
    } else {
      ++failed;
      ExpectInputError(read.status());
    }
  }
  EXPECT_GT(failed, 0);
}

TEST(RestrictedUnpicklerTest, SurvivesRandomByteFlipsAndTruncations) {
  // The zip's CRC check stops most damaged pickles early, so fuzz the unpickler directly, with
  // the real data.pkl of the fixture and storages of the right sizes.
  auto file = MappedFile::Open(Fixture("plain_state_dict.bin"));
  ASSERT_TRUE(file.ok());
  auto zip = ZipArchive::Open(*file);
  ASSERT_TRUE(zip.ok()) << zip.status().ToString();
  const ZipEntry* entry = zip->Find("plain_state_dict/data.pkl");
  ASSERT_NE(entry, nullptr);
  auto pickle = zip->Read(*entry, true);
  ASSERT_TRUE(pickle.ok());
  const std::string valid(*pickle);
  ASSERT_TRUE(Unpickle(valid).ok());
  std::mt19937_64 rng(11);
  int ok = 0;
  const int iterations = FuzzIterations();
  for (int i = 0; i < iterations; ++i) {
    std::string bytes = valid;
    if (rng() % 4 == 0) {
      bytes.resize(rng() % bytes.size());
    } else {
      const size_t flips = 1 + rng() % 3;
      for (size_t f = 0; f < flips; ++f) {
        const size_t pos = rng() % bytes.size();
        bytes[pos] = static_cast<char>(rng() % 2 ? bytes[pos] ^ (1 << (rng() % 8)) : rng());
      }
    }
    UnpickleLimits limits;
    limits.max_copy_bytes = 1 << 20;
    auto read = Unpickle(bytes, limits);
    if (read.ok()) {
      ++ok;
    } else {
      ExpectInputError(read.status());
    }
  }
  EXPECT_LT(ok, iterations);
}

}  // namespace
}  // namespace sinkscope::formats
