// metrics.jsonl: records appended and flushed one line at a time; reopening
// for a resume keeps the records up to the checkpoint's step and drops a torn
// last line.
#include "talon/track/metrics_log.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "talon/util/atomic_file.h"
#include "test_support.h"

namespace fs = std::filesystem;
using nlohmann::json;
using talon::track::MetricsLog;

namespace {

std::vector<std::int64_t> steps_in(const std::string& path) {
  std::vector<std::int64_t> steps;
  for (const json& record : talon::testing::read_jsonl(path)) steps.push_back(record.at("step").get<std::int64_t>());
  return steps;
}

std::string lines(std::initializer_list<std::string> records) {
  std::string text;
  for (const std::string& record : records) text += record + "\n";
  return text;
}

}  // namespace

class MetricsLogTest : public ::testing::Test {
 protected:
  talon::testing::TempDir scratch_;
  const fs::path& dir_ = scratch_.path();
  std::string path_ = scratch_.file("metrics.jsonl");
};

TEST_F(MetricsLogTest, FreshLogAppendsFlushedLines) {
  MetricsLog log = MetricsLog::open(path_, -1);
  log.append({{"step", 1}, {"loss", 2.5}, {"lr", 1e-4}});
  // Flushed per record: visible while the log is still open.
  EXPECT_EQ(talon::util::read_file(path_), "{\"loss\":2.5,\"lr\":0.0001,\"step\":1}\n");
  log.append({{"step", 2}, {"loss", 2.25}, {"acc", {0.5, 0.25, 0.125}}});
  std::vector<json> records = talon::testing::read_jsonl(path_);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1]["acc"], json({0.5, 0.25, 0.125}));
  EXPECT_EQ(log.kept_records(), 0u);
  EXPECT_EQ(log.dropped_records(), 0u);
}

TEST_F(MetricsLogTest, FreshRunEmptiesAnOldLog) {
  scratch_.write("metrics.jsonl", lines({R"({"step":1})", R"({"step":2})"}));
  MetricsLog log = MetricsLog::open(path_, -1);
  EXPECT_EQ(talon::util::read_file(path_), "");
  EXPECT_EQ(log.dropped_records(), 2u);
}

TEST_F(MetricsLogTest, CreatesTheFolder) {
  std::string nested = (dir_ / "out" / "run1" / "metrics.jsonl").string();
  MetricsLog log = MetricsLog::open(nested, 0);
  log.append({{"step", 0}});
  EXPECT_EQ(steps_in(nested), std::vector<std::int64_t>{0});
  EXPECT_EQ(log.path(), nested);
}

TEST_F(MetricsLogTest, ResumeKeepsRecordsUpToTheCheckpointStep) {
  // Steps 1..10 with an eval record at step 5; the checkpoint was step 6.
  std::string text;
  for (int step = 1; step <= 10; ++step) {
    text += json{{"step", step}, {"loss", 1.0 / step}}.dump() + "\n";
    if (step == 5) text += json{{"step", 5}, {"eval/acc", 0.5}}.dump() + "\n";
  }
  scratch_.write("metrics.jsonl", text);
  {
    MetricsLog log = MetricsLog::open(path_, 6);
    EXPECT_EQ(log.kept_records(), 7u);
    EXPECT_EQ(log.dropped_records(), 4u);
    log.append({{"step", 7}, {"loss", 0.125}});
  }
  EXPECT_EQ(steps_in(path_), (std::vector<std::int64_t>{1, 2, 3, 4, 5, 5, 6, 7}));
  std::vector<json> records = talon::testing::read_jsonl(path_);
  EXPECT_EQ(records[5], json({{"step", 5}, {"eval/acc", 0.5}}));  // kept in place, unchanged
  EXPECT_EQ(records[7]["loss"], 0.125);
  // The rewrite went through a temp file that is gone now.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator{}), 1);
}

TEST_F(MetricsLogTest, KeptLinesAreByteIdentical) {
  std::string kept = lines({R"({"step": 1,  "loss": 3.0000})", R"({"note":"é","step":2})"});
  scratch_.write("metrics.jsonl", kept + lines({R"({"step":3})"}));
  MetricsLog::open(path_, 2);
  EXPECT_EQ(talon::util::read_file(path_), kept);
}

TEST_F(MetricsLogTest, TornLastLineIsDropped) {
  scratch_.write("metrics.jsonl", lines({R"({"step":1,"loss":2.0})", R"({"step":2,"loss":1.5})"}) +
                                      R"({"step":3,"lo)");  // killed mid-write
  {
    MetricsLog log = MetricsLog::open(path_, 100);
    EXPECT_EQ(log.kept_records(), 2u);
    EXPECT_EQ(log.dropped_records(), 1u);
    log.append({{"step", 3}, {"loss", 1.25}});
  }
  EXPECT_EQ(steps_in(path_), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(talon::testing::read_jsonl(path_)[2]["loss"], 1.25);
}

TEST_F(MetricsLogTest, LastLineWithoutNewlineIsTornEvenIfItParses) {
  scratch_.write("metrics.jsonl", lines({R"({"step":1})"}) + R"({"step":2})");
  MetricsLog log = MetricsLog::open(path_, 100);
  EXPECT_EQ(log.dropped_records(), 1u);
  EXPECT_EQ(steps_in(path_), std::vector<std::int64_t>{1});
}

TEST_F(MetricsLogTest, BlankLinesAreSkipped) {
  scratch_.write("metrics.jsonl", "\n" + lines({R"({"step":1})", "  ", R"({"step":2})"}) + "\n");
  MetricsLog log = MetricsLog::open(path_, 100);
  EXPECT_EQ(log.kept_records(), 2u);
  EXPECT_EQ(talon::util::read_file(path_), lines({R"({"step":1})", R"({"step":2})"}));
}

TEST_F(MetricsLogTest, BadCompleteLineNamesFileAndLine) {
  scratch_.write("metrics.jsonl", lines({R"({"step":1})", R"({"step":2, oops})", R"({"step":3})"}));
  talon::testing::expect_error([&] { MetricsLog::open(path_, 100); }, {path_ + ":2:", "integer \"step\"", "oops"});
  // The file is left as it was for the user to look at.
  EXPECT_EQ(talon::util::read_file(path_), lines({R"({"step":1})", R"({"step":2, oops})", R"({"step":3})"}));

  scratch_.write("metrics.jsonl", lines({R"({"step":1})", R"({"loss":1})"}));
  talon::testing::expect_error([&] { MetricsLog::open(path_, 100); }, {path_ + ":2:", "integer \"step\""});
  scratch_.write("metrics.jsonl", lines({R"({"step":1.5})"}));
  talon::testing::expect_error([&] { MetricsLog::open(path_, 100); }, {path_ + ":1:"});
  scratch_.write("metrics.jsonl", lines({R"([1,2])"}));
  talon::testing::expect_error([&] { MetricsLog::open(path_, 100); }, {path_ + ":1:"});
  // Read as every JSON file is: 10^5 nested arrays and a repeated key are refused.
  scratch_.write("metrics.jsonl", lines({R"({"step":1})", R"({"step":)" + talon::testing::nested_arrays() + "}"}));
  talon::testing::expect_error([&] { MetricsLog::open(path_, 100); }, {path_ + ":2:", "integer \"step\""});
  scratch_.write("metrics.jsonl", lines({R"({"step":1,"step":2})"}));
  talon::testing::expect_error([&] { MetricsLog::open(path_, 100); }, {path_ + ":1:", "integer \"step\""});
}

TEST_F(MetricsLogTest, AppendRejectsRecordsWithoutIntegerStep) {
  MetricsLog log = MetricsLog::open(path_, -1);
  talon::testing::expect_error([&] { log.append({{"loss", 1.0}}); }, {path_, "integer \"step\"", "loss"});
  talon::testing::expect_error([&] { log.append({{"step", "7"}}); }, {path_, "integer \"step\""});
  talon::testing::expect_error([&] { log.append(json::array({1, 2})); }, {path_, "integer \"step\""});
  EXPECT_EQ(talon::util::read_file(path_), "");
}

TEST_F(MetricsLogTest, InvalidUtf8IsReplacedNotThrown) {
  MetricsLog log = MetricsLog::open(path_, -1);
  log.append({{"step", 1}, {"name", std::string("bad \xFF byte")}});
  std::vector<json> records = talon::testing::read_jsonl(path_);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["name"], "bad \xEF\xBF\xBD byte");
}

TEST_F(MetricsLogTest, ReopenAfterCleanRunAppends) {
  {
    MetricsLog log = MetricsLog::open(path_, -1);
    for (int step = 1; step <= 3; ++step) log.append({{"step", step}});
  }
  {
    MetricsLog log = MetricsLog::open(path_, 3);
    EXPECT_EQ(log.dropped_records(), 0u);
    log.append({{"step", 4}});
  }
  EXPECT_EQ(steps_in(path_), (std::vector<std::int64_t>{1, 2, 3, 4}));
}
