// safetensors reader, writer and sharded models. Independent references: files
// written by a Python script (scripts/goldens/make_safetensors_fixture.py), the
// byte layout the format specifies, and hand-made corrupt files.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "talon/io/safetensors.h"
#include "talon/io/safetensors_model.h"
#include "talon/util/atomic_file.h"
#include "talon/util/error.h"
#include "test_support.h"

namespace talon::io {
namespace {

using talon::testing::expect_error;
using talon::testing::TempDir;

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kFixtures = std::string(TALON_TEST_DATA) + "/safetensors";

std::string with_length(const std::string& header, std::uint64_t length) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(length >> (8 * i));
  return bytes + header;
}

// A file image: length prefix, header text as given, data bytes.
std::string file_image(const std::string& header, const std::string& data) {
  return with_length(header, header.size()) + data;
}

void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::string read_bytes(const std::string& path) { return util::read_file(path); }

std::vector<double> as_doubles(const at::Tensor& t) {
  at::Tensor flat = t.to(at::kDouble).contiguous().reshape({-1});
  return std::vector<double>(flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel());
}

// Random values of every dtype, in shapes including 0-d and zero-size ones.
io::NamedTensors every_dtype_tensors() {
  at::manual_seed(7);
  io::NamedTensors tensors;
  const std::vector<std::vector<std::int64_t>> shapes = {{2, 3}, {}, {0}, {3, 0, 2}, {7}};
  for (DType dtype : {DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32, DType::I8, DType::U8, DType::BOOL}) {
    at::ScalarType type = to_scalar_type(dtype);
    for (std::size_t k = 0; k < shapes.size(); ++k) {
      at::Tensor t;
      if (at::isFloatingType(type)) {
        t = at::randn(shapes[k]).to(type);
      } else if (type == at::kBool) {
        t = at::randint(0, 2, shapes[k]).to(type);
      } else {
        t = at::randint(type == at::kByte ? 0 : -100, 100, shapes[k]).to(type);
      }
      tensors.emplace_back(std::string(dtype_name(dtype)) + "_" + std::to_string(k), t);
    }
  }
  return tensors;
}

TEST(Safetensors, RoundTripEveryDtype) {
  TempDir dir;
  auto tensors = every_dtype_tensors();
  std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "ünïcode"}};
  write_safetensors(dir.file("t.safetensors"), tensors, metadata);

  SafetensorsFile file = SafetensorsFile::open(dir.file("t.safetensors"));
  EXPECT_EQ(file.metadata(), metadata);
  EXPECT_EQ(file.path(), dir.file("t.safetensors"));
  ASSERT_EQ(file.tensors().size(), tensors.size());
  for (const auto& [name, expected] : tensors) {
    const TensorInfo* info = file.find(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_EQ(to_scalar_type(info->dtype), expected.scalar_type()) << name;
    EXPECT_EQ(info->shape, expected.sizes().vec()) << name;
    at::Tensor got = file.tensor(name);
    EXPECT_EQ(got.scalar_type(), expected.scalar_type()) << name;
    EXPECT_EQ(got.sizes(), expected.sizes()) << name;
    EXPECT_TRUE(at::equal(got, expected)) << name;
  }
  for (std::size_t i = 1; i < file.tensors().size(); ++i) {
    EXPECT_EQ(file.tensors()[i].begin, file.tensors()[i - 1].end);
  }
  EXPECT_EQ(file.find("absent"), nullptr);
}

TEST(Safetensors, WriterByteLayout) {
  TempDir dir;
  at::Tensor f = at::tensor({1.0f, -2.0f});
  at::Tensor b = at::tensor({1, 0, 1}).to(at::kBool);
  write_safetensors(dir.file("t.safetensors"), {{"b", b}, {"a", f}}, {{"k", "v"}});
  // Metadata first, then the data in decreasing element size: F32 before BOOL.
  std::string header = R"({"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"BOOL","shape":[3],"data_offsets":[8,11]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string data("\x00\x00\x80\x3f\x00\x00\x00\xc0\x01\x00\x01", 11);
  EXPECT_EQ(read_bytes(dir.file("t.safetensors")), file_image(header, data));
}

TEST(Safetensors, WritesNonContiguousTensors) {
  TempDir dir;
  at::Tensor base = at::arange(12, at::kFloat).reshape({3, 4});
  at::Tensor view = base.t().slice(0, 1, 3);  // [2, 3], strided
  write_safetensors(dir.file("t.safetensors"), {{"v", view}});
  EXPECT_TRUE(at::equal(SafetensorsFile::open(dir.file("t.safetensors")).tensor("v"), view));
}

void check_against_python_fixture(const std::string& file_name, bool with_metadata) {
  SafetensorsFile file = SafetensorsFile::open(kFixtures + "/" + file_name);
  json expected = json::parse(read_bytes(kFixtures + "/expected.json"));
  if (with_metadata) {
    EXPECT_EQ(file.metadata(), (expected["metadata"].get<std::map<std::string, std::string>>()));
  } else {
    EXPECT_TRUE(file.metadata().empty());
  }
  ASSERT_EQ(file.tensors().size(), expected["tensors"].size());
  for (const auto& [name, spec] : expected["tensors"].items()) {
    const TensorInfo* info = file.find(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_EQ(dtype_name(info->dtype), spec["dtype"].get<std::string>()) << name;
    at::Tensor t = file.tensor(name);
    EXPECT_EQ(t.sizes().vec(), spec["shape"].get<std::vector<std::int64_t>>()) << name;
    EXPECT_EQ(as_doubles(t), spec["values"].get<std::vector<double>>()) << name;
  }
}

TEST(Safetensors, ReadsAlignedFileWrittenByPython) { check_against_python_fixture("aligned.safetensors", false); }

TEST(Safetensors, ReadsMisalignedFileWrittenByPython) { check_against_python_fixture("unaligned.safetensors", true); }

// Aligned tensors are views of the mapping (the same address each time);
// misaligned ones are copies (a new buffer each time).
TEST(Safetensors, CopiesOnlyMisalignedTensors) {
  SafetensorsFile aligned = SafetensorsFile::open(kFixtures + "/aligned.safetensors");
  EXPECT_EQ(aligned.tensor("weights.f32").data_ptr(), aligned.tensor("weights.f32").data_ptr());
  EXPECT_EQ(aligned.tensor("ids").data_ptr(), aligned.tensor("ids").data_ptr());

  SafetensorsFile unaligned = SafetensorsFile::open(kFixtures + "/unaligned.safetensors");
  const TensorInfo* f32 = unaligned.find("weights.f32");
  ASSERT_NE(f32, nullptr);
  ASSERT_NE(f32->begin % 4, 0u) << "the fixture is meant to misalign this tensor";
  EXPECT_NE(unaligned.tensor("weights.f32").data_ptr(), unaligned.tensor("weights.f32").data_ptr());
  EXPECT_EQ(unaligned.tensor("flags").data_ptr(), unaligned.tensor("flags").data_ptr());
}

TEST(Safetensors, TensorsOutliveTheFileObject) {
  TempDir dir;
  at::Tensor expected = at::arange(1000, at::kLong);
  write_safetensors(dir.file("t.safetensors"), {{"x", expected}});
  at::Tensor view;
  {
    SafetensorsFile file = SafetensorsFile::open(dir.file("t.safetensors"));
    view = file.tensor("x");
  }
  fs::remove(dir.file("t.safetensors"));  // the mapping stays valid after unlink
  EXPECT_TRUE(at::equal(view, expected));
}

TEST(Safetensors, FromBuffer) {
  std::string header = R"({"x":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})";
  auto image = std::make_shared<std::string>(file_image(header, std::string("\x05\0\0\0\xff\xff\xff\xff", 8)));
  SafetensorsFile file = SafetensorsFile::from_buffer(image, reinterpret_cast<const std::uint8_t*>(image->data()),
                                                      image->size(), "memory");
  image.reset();  // the file object holds the buffer
  EXPECT_EQ(as_doubles(file.tensor("x")), (std::vector<double>{5, -1}));
  expect_error([&] { file.tensor("y"); }, {"memory", "\"y\""});
}

TEST(Safetensors, RejectsBoolBytesOtherThanZeroOrOne) {
  TempDir dir;
  std::string path = dir.file("bool.safetensors");
  write_bytes(path,
              file_image(R"({"mask":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})", std::string("\1\0\2", 3)));
  SafetensorsFile file = SafetensorsFile::open(path);  // the header is valid
  expect_error([&] { file.tensor("mask"); }, {path, "\"mask\"", "element 2", "byte 2"});
}

// One corrupt file: the bytes and the parts its error message must contain
// (besides the file's path).
struct Corruption {
  const char* name;
  std::string bytes;
  std::vector<std::string> message;
};

std::string entry(const char* dtype, const char* shape, const char* offsets) {
  return std::string(R"({"dtype":")") + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}";
}

std::vector<Corruption> corruptions() {
  const std::string four(4, '\0');
  const std::string eight(8, '\0');
  auto one = [&](const std::string& body, const std::string& data) { return file_image("{" + body + "}", data); };
  return {
      {"Truncated", std::string("\x10\0\0", 3), {"3 bytes", "shorter than the 8-byte header length"}},
      {"EmptyFile", "", {"0 bytes"}},
      {"HeaderLongerThanFile", with_length("{}", 100), {"header length 100", "exceeds the 2 bytes"}},
      {"HeaderLengthAbsurd", with_length("{}", std::uint64_t(1) << 62), {"exceeds the limit"}},
      {"BadJson", file_image(R"({"w": {"dtype")", ""), {"not valid JSON"}},
      {"NotUtf8", file_image("{\"w\xff\": 1}", ""), {"not valid JSON"}},
      {"NotAnObject", file_image("[1, 2]", ""), {"must be a JSON object"}},
      {"EntryNotObject", one(R"("w": 5)", ""), {"\"w\"", "must be an object"}},
      {"MissingDtype", one(R"("w":{"shape":[1],"data_offsets":[0,4]})", four), {"\"w\"", "missing field \"dtype\""}},
      {"MissingShape", one(R"("w":{"dtype":"F32","data_offsets":[0,4]})", four), {"\"w\"", "missing field \"shape\""}},
      {"MissingOffsets", one(R"("w":{"dtype":"F32","shape":[1]})", four), {"\"w\"", "missing field \"data_offsets\""}},
      {"DtypeNotString",
       one(R"("w":{"dtype":4,"shape":[1],"data_offsets":[0,4]})", four),
       {"\"w\"", "\"dtype\" must be a string"}},
      {"UnsupportedDtype", one("\"w\":" + entry("F64", "[1]", "[0,8]"), eight), {"\"w\"", "\"F64\" is not supported"}},
      {"LowercaseDtype", one("\"w\":" + entry("f32", "[1]", "[0,4]"), four), {"\"w\"", "\"f32\" is not supported"}},
      {"ShapeNotArray", one("\"w\":" + entry("F32", "4", "[0,4]"), four), {"\"w\"", "\"shape\" must be an array"}},
      {"NegativeDim", one("\"w\":" + entry("F32", "[-1]", "[0,4]"), four), {"\"w\"", "non-negative integers"}},
      {"FractionalDim", one("\"w\":" + entry("F32", "[1.0]", "[0,4]"), four), {"\"w\"", "non-negative integers"}},
      {"HugeDim",
       one("\"w\":" + entry("U8", "[9223372036854775808]", "[0,4]"), four),
       {"\"w\"", "non-negative integers"}},
      {"ShapeOverflow",
       one("\"w\":" + entry("U8", "[4294967296,4294967296,2]", "[0,4]"), four),
       {"\"w\"", "overflows int64"}},
      {"EmptyShapeOverflow",
       one("\"w\":" + entry("U8", "[0,4294967296,4294967296]", "[0,0]"), ""),
       {"\"w\"", "overflows int64"}},
      {"BytesOverflow",
       one("\"w\":" + entry("I64", "[4611686018427387904]", "[0,4]"), four),
       {"\"w\"", "overflows int64"}},
      {"SizeMismatch", one("\"w\":" + entry("F32", "[2]", "[0,4]"), four), {"\"w\"", "needs 8 bytes", "hold 4"}},
      {"OffsetsNotPair", one("\"w\":" + entry("F32", "[1]", "[4]"), four), {"\"w\"", "[begin, end]"}},
      {"NegativeOffset", one("\"w\":" + entry("F32", "[1]", "[-4,0]"), four), {"\"w\"", "[begin, end]"}},
      {"BeginAfterEnd", one("\"w\":" + entry("F32", "[1]", "[4,0]"), eight), {"\"w\"", "begin after end"}},
      {"OffsetsBeyondEnd",
       one("\"w\":" + entry("F32", "[2]", "[0,8]"), four),
       {"\"w\"", "beyond the data buffer of 4 bytes"}},
      {"Overlap",
       one("\"a\":" + entry("F32", "[2]", "[0,8]") + ",\"b\":" + entry("F32", "[2]", "[4,12]"), std::string(12, '\0')),
       {"\"b\"", "overlap tensor \"a\""}},
      {"Gap",
       one("\"a\":" + entry("F32", "[1]", "[0,4]") + ",\"b\":" + entry("F32", "[1]", "[8,12]"), std::string(12, '\0')),
       {"\"b\"", "gap of 4 bytes"}},
      {"TrailingBytes", one("\"a\":" + entry("F32", "[1]", "[0,4]"), eight), {"holds 8 bytes", "cover 4"}},
      {"DuplicateName",
       one("\"w\":" + entry("F32", "[1]", "[0,4]") + ",\"w\":" + entry("F32", "[1]", "[0,4]"), four),
       {"duplicate key \"w\""}},
      {"DuplicateField",
       one(R"("w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]})", four),
       {"duplicate key \"dtype\" in \"w\""}},
      // 10^5 nested arrays crashed the message that printed the shape; at the
      // limit the message shows 80 bytes of it.
      {"DeepNesting",
       one(R"("w":{"dtype":"F32","shape":)" + talon::testing::nested_arrays() + R"(,"data_offsets":[0,4]})", four),
       {"(header): nested deeper than 512 levels of arrays and objects"}},
      {"DeepShape",
       one(R"("w":{"dtype":"F32","shape":)" + talon::testing::nested_arrays(510) + R"(,"data_offsets":[0,4]})", four),
       {"tensor \"w\": shape " + std::string(80, '[') + "... must hold non-negative integers"}},
      {"MetadataNotObject", one(R"("__metadata__":["a"])", ""), {"\"__metadata__\" must be an object"}},
      {"MetadataValueNotString", one(R"("__metadata__":{"step":3})", ""), {"\"step\" must be a string"}},
  };
}

// One test for all cases: each ctest entry is a process that loads libtorch.
TEST(Safetensors, CorruptFilesAreRejectedWithFileAndReason) {
  TempDir dir;
  for (const Corruption& corruption : corruptions()) {
    SCOPED_TRACE(corruption.name);
    std::string path = dir.file(std::string(corruption.name) + ".safetensors");
    write_bytes(path, corruption.bytes);
    std::vector<std::string> parts = corruption.message;
    parts.push_back(path);
    expect_error([&] { SafetensorsFile::open(path); }, parts);
  }
}

TEST(Safetensors, AcceptsEdgeCasesTheFormatAllows) {
  TempDir dir;
  std::string path = dir.file("edge.safetensors");
  // No tensors at all; a null __metadata__; zero-size tensors sharing an offset.
  write_bytes(path, file_image("{}", ""));
  EXPECT_TRUE(SafetensorsFile::open(path).tensors().empty());
  write_bytes(path, file_image(R"({"__metadata__":null})", ""));
  EXPECT_TRUE(SafetensorsFile::open(path).metadata().empty());
  write_bytes(path, file_image("{\"z\":" + entry("F32", "[0]", "[4,4]") + ",\"a\":" + entry("F32", "[1]", "[0,4]") +
                                   ",\"y\":" + entry("I64", "[2,0]", "[4,4]") + "}",
                               std::string(4, '\0')));
  SafetensorsFile file = SafetensorsFile::open(path);
  ASSERT_EQ(file.tensors().size(), 3u);
  EXPECT_EQ(file.tensors()[0].name, "a");  // ordered by offsets, then name
  EXPECT_EQ(file.tensors()[1].name, "y");
  EXPECT_EQ(file.tensor("y").sizes(), (std::vector<std::int64_t>{2, 0}));
}

TEST(Safetensors, WriterRejectsBadInput) {
  TempDir dir;
  std::string path = dir.file("t.safetensors");
  at::Tensor x = at::zeros({2});
  expect_error([&] { write_safetensors(path, {{"x", x}, {"x", x}}); }, {path, "\"x\" given twice"});
  expect_error([&] { write_safetensors(path, {{"x", at::zeros({2}, at::kDouble)}}); }, {path, "\"x\"", "Double"});
  expect_error([&] { write_safetensors(path, {{"__metadata__", x}}); }, {path, "reserved"});
  expect_error([&] { write_safetensors(path, {{"x", at::Tensor()}}); }, {path, "\"x\"", "undefined"});
  EXPECT_FALSE(fs::exists(path));
}

TEST(Safetensors, FailedWriteLeavesTheExistingFileUntouched) {
  TempDir dir;
  std::string path = dir.file("t.safetensors");
  write_safetensors(path, {{"x", at::arange(4, at::kFloat)}});
  std::string before = read_bytes(path);
  expect_error(
      [&] {
        write_safetensors(path, {{"y", at::ones({3})}, {"z", at::ones({3}, at::kComplexFloat)}});
      },
      {"\"z\""});
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1) << "temp file left behind";
}

// Two shards and an index, as Hugging Face's save_pretrained lays them out.
class ShardedModel : public ::testing::Test {
 protected:
  void SetUp() override {
    write_safetensors(dir.file("model-00001-of-00002.safetensors"), {{"embed", embed}, {"norm", norm}});
    write_safetensors(dir.file("model-00002-of-00002.safetensors"), {{"head", head}});
    write_index({{"embed", "model-00001-of-00002.safetensors"},
                 {"norm", "model-00001-of-00002.safetensors"},
                 {"head", "model-00002-of-00002.safetensors"}});
  }
  void write_index(const json& weight_map) {
    json index = {{"metadata", {{"total_size", 100}}}, {"weight_map", weight_map}};
    util::write_file_atomic(dir.file("model.safetensors.index.json"), index.dump());
  }

  TempDir dir;
  at::Tensor embed = at::randn({5, 3}).to(at::kBFloat16);
  at::Tensor norm = at::ones({3});
  at::Tensor head = at::randn({4, 3});
};

TEST_F(ShardedModel, ReadsTensorsAcrossShards) {
  SafetensorsModel model = SafetensorsModel::open(dir.path().string());
  EXPECT_EQ(model.names(), (std::vector<std::string>{"embed", "head", "norm"}));
  EXPECT_TRUE(model.contains("head"));
  EXPECT_FALSE(model.contains("lm_head"));
  EXPECT_EQ(model.info("embed").dtype, DType::BF16);
  EXPECT_EQ(model.info("head").shape, (std::vector<std::int64_t>{4, 3}));
  EXPECT_TRUE(at::equal(model.tensor("embed"), embed));
  EXPECT_TRUE(at::equal(model.tensor("head"), head));
  SafetensorsModel copy = model;  // locations survive copies
  EXPECT_TRUE(at::equal(copy.tensor("norm"), norm));
  expect_error([&] { model.tensor("lm_head"); }, {dir.path().string(), "\"lm_head\""});
}

TEST_F(ShardedModel, MissingShard) {
  fs::remove(dir.file("model-00002-of-00002.safetensors"));
  expect_error([&] { SafetensorsModel::open(dir.path().string()); },
               {"model.safetensors.index.json", "\"model-00002-of-00002.safetensors\"", "\"head\"", "cannot open"});
}

TEST_F(ShardedModel, TensorMissingFromItsShard) {
  write_index({{"embed", "model-00001-of-00002.safetensors"}, {"head", "model-00001-of-00002.safetensors"}});
  expect_error([&] { SafetensorsModel::open(dir.path().string()); },
               {"model.safetensors.index.json", "\"head\"", "\"model-00001-of-00002.safetensors\"", "does not hold"});
}

TEST_F(ShardedModel, CorruptShardNamesIndexAndShard) {
  write_bytes(dir.file("model-00002-of-00002.safetensors"), "\1\2\3");
  expect_error([&] { SafetensorsModel::open(dir.path().string()); },
               {"model.safetensors.index.json", "model-00002-of-00002.safetensors", "shorter than"});
}

TEST_F(ShardedModel, RejectsBadIndex) {
  write_index({{"head", "../elsewhere.safetensors"}});
  expect_error([&] { SafetensorsModel::open(dir.path().string()); }, {"index.json", "\"head\"", "file name"});
  util::write_file_atomic(dir.file("model.safetensors.index.json"), R"({"metadata": {}})");
  expect_error([&] { SafetensorsModel::open(dir.path().string()); }, {"index.json", "weight_map"});
}

TEST(SafetensorsModel, SingleFileAndMissingFiles) {
  TempDir dir;
  expect_error([&] { SafetensorsModel::open(dir.path().string()); }, {dir.path().string(), "model.safetensors"});
  at::Tensor w = at::randn({2, 2});
  write_safetensors(dir.file("model.safetensors"), {{"w", w}});
  SafetensorsModel model = SafetensorsModel::open(dir.path().string());
  EXPECT_EQ(model.names(), std::vector<std::string>{"w"});
  EXPECT_TRUE(at::equal(model.tensor("w"), w));
}

}  // namespace
}  // namespace talon::io
