// TensorBoard event files: CRC-32C (fast against bitwise, both against known
// values), TFRecord framing, and the writer's files read back by a reader
// written here that checks both CRCs of every record.
#include "talon/track/tensorboard_writer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "talon/track/crc32c.h"
#include "talon/track/event.pb.h"
#include "talon/track/tfrecord.h"
#include "talon/util/atomic_file.h"
#include "test_support.h"

namespace fs = std::filesystem;
using talon::track::crc32c;
using talon::track::crc32c_reference;
using talon::track::TensorBoardWriter;
namespace proto = talon::track::proto;

namespace {

// ---- an independent TFRecord reader ----------------------------------------

struct CorruptRecord : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::uint64_t read_le(const std::string& bytes, std::size_t at, int width) {
  std::uint64_t value = 0;
  for (int i = width - 1; i >= 0; --i) value = value << 8 | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

std::uint32_t masked(std::string_view bytes) {
  std::uint32_t crc = crc32c_reference(bytes);  // the bitwise twin, not the writer's table code
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

// Every record's data; throws CorruptRecord on a bad CRC or a short file.
std::vector<std::string> read_tfrecords(const std::string& bytes) {
  std::vector<std::string> records;
  for (std::size_t at = 0; at < bytes.size();) {
    if (bytes.size() - at < 12) throw CorruptRecord("truncated header at " + std::to_string(at));
    std::uint64_t length = read_le(bytes, at, 8);
    if (read_le(bytes, at + 8, 4) != masked(std::string_view(bytes).substr(at, 8))) {
      throw CorruptRecord("length crc mismatch at " + std::to_string(at));
    }
    if (bytes.size() - at - 12 < length + 4) throw CorruptRecord("truncated data at " + std::to_string(at));
    std::string data = bytes.substr(at + 12, length);
    if (read_le(bytes, at + 12 + length, 4) != masked(data)) {
      throw CorruptRecord("data crc mismatch at " + std::to_string(at));
    }
    records.push_back(std::move(data));
    at += 12 + length + 4;
  }
  return records;
}

std::vector<proto::Event> read_events(const std::string& path) {
  std::vector<proto::Event> events;
  for (const std::string& record : read_tfrecords(talon::util::read_file(path))) {
    proto::Event event;
    EXPECT_TRUE(event.ParseFromString(record));
    events.push_back(event);
  }
  return events;
}

std::vector<std::string> event_files(const fs::path& dir) {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path().string());
  return files;
}

// ---- raw protobuf wire decoding, to check field numbers without our .proto --

struct Field {
  int number, wire_type;
  std::uint64_t scalar;  // varint, fixed32 or fixed64
  std::string bytes;     // length-delimited
};

std::uint64_t varint(const std::string& s, std::size_t& at) {
  std::uint64_t value = 0;
  for (int shift = 0;; shift += 7) {
    auto byte = static_cast<unsigned char>(s.at(at++));
    value |= std::uint64_t{byte & 0x7Fu} << shift;
    if (!(byte & 0x80)) return value;
  }
}

std::map<int, Field> wire_fields(const std::string& message) {
  std::map<int, Field> fields;
  for (std::size_t at = 0; at < message.size();) {
    std::uint64_t key = varint(message, at);
    Field field{static_cast<int>(key >> 3), static_cast<int>(key & 7), 0, {}};
    if (field.wire_type == 0) {
      field.scalar = varint(message, at);
    } else if (field.wire_type == 1 || field.wire_type == 5) {
      int width = field.wire_type == 1 ? 8 : 4;
      field.scalar = read_le(message, at, width);
      at += width;
    } else if (field.wire_type == 2) {
      std::uint64_t length = varint(message, at);
      field.bytes = message.substr(at, length);
      at += length;
    } else {
      ADD_FAILURE() << "unexpected wire type " << field.wire_type;
      break;
    }
    fields[field.number] = field;
  }
  return fields;
}

std::string random_bytes(std::mt19937& rng, std::size_t n) {
  std::string bytes(n, '\0');
  for (char& c : bytes) c = static_cast<char>(rng() & 0xFF);
  return bytes;
}

}  // namespace

// ---- CRC-32C -----------------------------------------------------------------

TEST(Crc32c, KnownValues) {
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i)), descending.push_back(static_cast<char>(31 - i));
  const std::vector<std::pair<std::string, std::uint32_t>> cases = {
      {"", 0x00000000u},
      {"123456789", 0xE3069283u},
      {std::string(32, '\0'), 0x8A9136AAu},
      {std::string(32, '\xFF'), 0x62A8AB43u},
      {ascending, 0x46DD794Eu},
      {descending, 0x113FDB5Cu},
  };
  for (const auto& [bytes, expected] : cases) {
    EXPECT_EQ(crc32c(bytes), expected) << bytes.size() << " bytes";
    EXPECT_EQ(crc32c_reference(bytes), expected) << bytes.size() << " bytes";
  }
}

TEST(Crc32c, TableMatchesBitwiseOnRandomInput) {
  std::mt19937 rng(1234);
  std::string pool = random_bytes(rng, 5000);
  for (int trial = 0; trial < 2000; ++trial) {
    std::size_t length = trial < 300 ? trial : rng() % 4000;
    std::size_t offset = rng() % 8;  // unaligned starts
    std::string_view bytes = std::string_view(pool).substr(offset, length);
    ASSERT_EQ(crc32c(bytes), crc32c_reference(bytes)) << "length " << length << " offset " << offset;
  }
}

TEST(Crc32c, ExtendsAcrossPieces) {
  std::mt19937 rng(99);
  for (int trial = 0; trial < 200; ++trial) {
    std::string bytes = random_bytes(rng, rng() % 600);
    std::size_t cut = bytes.empty() ? 0 : rng() % bytes.size();
    std::string_view whole(bytes);
    EXPECT_EQ(crc32c(whole.substr(cut), crc32c(whole.substr(0, cut))), crc32c(whole));
    EXPECT_EQ(crc32c_reference(whole.substr(cut), crc32c_reference(whole.substr(0, cut))), crc32c(whole));
  }
}

TEST(Crc32c, MaskRoundTrips) {
  std::mt19937 rng(7);
  for (int i = 0; i < 1000; ++i) {
    std::uint32_t crc = rng();
    EXPECT_EQ(talon::track::unmask_crc(talon::track::mask_crc(crc)), crc);
  }
  EXPECT_EQ(talon::track::mask_crc(0), 0xa282ead8u);
}

// ---- TFRecord framing ----------------------------------------------------------

TEST(TfRecord, FramesRecordsThatTheReaderReturns) {
  std::mt19937 rng(5);
  std::vector<std::string> written = {"", "a", random_bytes(rng, 1000), random_bytes(rng, 70000)};
  std::string file;
  for (const std::string& data : written) talon::track::append_tfrecord(file, data);
  std::size_t total = 0;
  for (const std::string& data : written) total += data.size() + talon::track::kTfRecordOverhead;
  EXPECT_EQ(file.size(), total);
  EXPECT_EQ(read_tfrecords(file), written);
  // The header of the first (empty) record, byte for byte: length 0, then its masked CRC.
  EXPECT_EQ(file.substr(0, 8), std::string(8, '\0'));
  EXPECT_EQ(read_le(file, 8, 4), talon::track::mask_crc(crc32c_reference(std::string(8, '\0'))));
}

TEST(TfRecord, ReaderRejectsAnyFlippedByte) {
  std::string file;
  talon::track::append_tfrecord(file, "payload of the record");
  for (std::size_t at = 0; at < file.size(); ++at) {
    std::string corrupt = file;
    corrupt[at] = static_cast<char>(corrupt[at] ^ 0x10);
    EXPECT_THROW(read_tfrecords(corrupt), CorruptRecord) << "byte " << at;
  }
  EXPECT_THROW(read_tfrecords(file.substr(0, file.size() - 1)), CorruptRecord);
}

// ---- TensorBoardWriter ---------------------------------------------------------

class TensorBoardWriterTest : public ::testing::Test {
 protected:
  talon::testing::TempDir scratch_;
  const fs::path& dir_ = scratch_.path();
};

TEST_F(TensorBoardWriterTest, ScalarsReadBack) {
  std::string log_dir = (dir_ / "runs" / "a").string();  // parents created
  std::string path;
  {
    TensorBoardWriter writer(log_dir);
    path = writer.path();
    for (std::int64_t step = 1; step <= 50; ++step) {
      writer.add_scalar("train/loss", 10.0 / step, step);
      writer.add_scalar("train/lr", 1e-4 * step, step);
      writer.flush();
    }
  }
  std::string name = fs::path(path).filename().string();
  EXPECT_EQ(name.rfind("events.out.tfevents.", 0), 0u) << name;
  EXPECT_EQ(name.substr(name.size() - 6), ".talon") << name;
  EXPECT_NE(name.find("." + std::to_string(::getpid()) + "."), std::string::npos) << name;
  EXPECT_EQ(event_files(log_dir), std::vector<std::string>{path});

  std::vector<proto::Event> events = read_events(path);
  ASSERT_EQ(events.size(), 1u + 100u);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  EXPECT_FALSE(events[0].has_summary());
  double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(events[0].wall_time(), now, 60.0);
  for (std::size_t i = 1; i < events.size(); ++i) {
    const proto::Event& event = events[i];
    std::int64_t step = static_cast<std::int64_t>((i + 1) / 2);
    bool loss = i % 2 == 1;
    EXPECT_EQ(event.step(), step);
    EXPECT_GE(event.wall_time(), events[i - 1].wall_time());
    ASSERT_TRUE(event.has_summary());
    ASSERT_EQ(event.summary().value_size(), 1);
    const proto::Summary::Value& value = event.summary().value(0);
    EXPECT_EQ(value.tag(), loss ? "train/loss" : "train/lr");
    ASSERT_TRUE(value.has_simple_value());
    EXPECT_EQ(value.simple_value(), static_cast<float>(loss ? 10.0 / step : 1e-4 * step));
  }
}

// The bytes carry TensorFlow's field numbers, decoded here without our .proto:
// Event{wall_time=1 double, step=2 varint, summary=5}, Summary{value=1},
// Value{tag=1, simple_value=2 float}; file_version=3.
TEST_F(TensorBoardWriterTest, WireFormatUsesTensorFlowFieldNumbers) {
  std::string path;
  {
    TensorBoardWriter writer(dir_.string());
    path = writer.path();
    writer.add_scalar("eval/acc", 0.75, 1234567890123);
  }
  std::vector<std::string> records = read_tfrecords(talon::util::read_file(path));
  ASSERT_EQ(records.size(), 2u);

  std::map<int, Field> header = wire_fields(records[0]);
  ASSERT_TRUE(header.count(3));
  EXPECT_EQ(header[3].wire_type, 2);
  EXPECT_EQ(header[3].bytes, "brain.Event:2");
  ASSERT_TRUE(header.count(1));
  EXPECT_EQ(header[1].wire_type, 1);

  std::map<int, Field> event = wire_fields(records[1]);
  ASSERT_TRUE(event.count(1) && event.count(2) && event.count(5));
  EXPECT_EQ(event[1].wire_type, 1);
  double wall_time;
  std::memcpy(&wall_time, &event[1].scalar, sizeof wall_time);
  EXPECT_GT(wall_time, 1.6e9);
  EXPECT_EQ(event[2].wire_type, 0);
  EXPECT_EQ(event[2].scalar, 1234567890123u);
  std::map<int, Field> summary = wire_fields(event[5].bytes);
  ASSERT_TRUE(summary.count(1));
  std::map<int, Field> value = wire_fields(summary[1].bytes);
  ASSERT_TRUE(value.count(1) && value.count(2));
  EXPECT_EQ(value[1].bytes, "eval/acc");
  EXPECT_EQ(value[2].wire_type, 5);
  float simple_value;
  auto bits = static_cast<std::uint32_t>(value[2].scalar);
  std::memcpy(&simple_value, &bits, sizeof simple_value);
  EXPECT_EQ(simple_value, 0.75f);
}

TEST_F(TensorBoardWriterTest, CorruptedByteFailsTheReader) {
  std::string path;
  {
    TensorBoardWriter writer(dir_.string());
    path = writer.path();
    for (int step = 0; step < 5; ++step) writer.add_scalar("loss", step, step);
  }
  std::string bytes = talon::util::read_file(path);
  ASSERT_NO_THROW(read_tfrecords(bytes));
  bytes[bytes.size() - 10] ^= 0x01;  // inside the last record's data
  try {
    read_tfrecords(bytes);
    ADD_FAILURE() << "corruption not detected";
  } catch (const CorruptRecord& e) {
    EXPECT_NE(std::string(e.what()).find("data crc"), std::string::npos) << e.what();
  }
}

TEST_F(TensorBoardWriterTest, ResumeWritesSessionStartAfterCheckpointStep) {
  std::string path;
  {
    TensorBoardWriter writer(dir_.string(), 200);
    path = writer.path();
    writer.add_scalar("loss", 1.5, 201);
  }
  std::vector<proto::Event> events = read_events(path);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  ASSERT_TRUE(events[1].has_session_log());
  EXPECT_EQ(events[1].session_log().status(), proto::SessionLog::START);
  EXPECT_EQ(events[1].step(), 201);
  // SessionLog is field 7 and its status field 1 (START = 1) in TensorFlow's event.proto.
  std::map<int, Field> raw = wire_fields(events[1].SerializeAsString());
  ASSERT_TRUE(raw.count(7));
  std::map<int, Field> session_log = wire_fields(raw[7].bytes);
  EXPECT_EQ(session_log[1].scalar, 1u);
  EXPECT_EQ(events[2].summary().value(0).tag(), "loss");
}

TEST_F(TensorBoardWriterTest, WritersInOneSecondGetTheirOwnFiles) {
  TensorBoardWriter first(dir_.string());
  TensorBoardWriter second(dir_.string());
  TensorBoardWriter third(dir_.string());
  EXPECT_NE(first.path(), second.path());
  EXPECT_NE(second.path(), third.path());
  EXPECT_NE(first.path(), third.path());
  EXPECT_EQ(event_files(dir_).size(), 3u);
  for (const std::string& file : event_files(dir_)) {
    EXPECT_NE(file.find("tfevents"), std::string::npos);
    EXPECT_EQ(file.substr(file.size() - 6), ".talon");
  }
}

TEST_F(TensorBoardWriterTest, UnwritableDirectoryNamesThePath) {
  std::string blocker = scratch_.write("not_a_dir", "x");
  talon::testing::expect_error([&] { TensorBoardWriter writer(blocker + "/runs"); },
                               {"TensorBoard log directory", blocker + "/runs"});
}
