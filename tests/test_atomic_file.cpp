#include "talon/util/atomic_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "talon/util/error.h"
#include "talon/util/output_manifest.h"
#include "test_support.h"

namespace fs = std::filesystem;
using talon::util::AtomicDir;
using talon::util::AtomicFile;
using talon::util::read_file;

class AtomicFileTest : public ::testing::Test {
 protected:
  talon::testing::TempDir scratch_;
  const fs::path& dir_ = scratch_.path();
};

TEST_F(AtomicFileTest, CommitReplacesOldContent) {
  std::string path = (dir_ / "f.bin").string();
  talon::util::write_file_atomic(path, "old");
  {
    AtomicFile file(path);
    file.write("new content");
    EXPECT_EQ(read_file(path), "old");  // not visible before commit
    file.commit();
  }
  EXPECT_EQ(read_file(path), "new content");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator{}), 1);
}

TEST_F(AtomicFileTest, AbandonedWriteLeavesOldFileAndNoTemp) {
  std::string path = (dir_ / "f.bin").string();
  talon::util::write_file_atomic(path, "old");
  try {
    AtomicFile file(path);
    file.write("partial");
    throw std::runtime_error("crash before commit");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(read_file(path), "old");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator{}), 1);
}

TEST_F(AtomicFileTest, DirectoryAppearsWholeOnCommit) {
  std::string path = (dir_ / "out").string();
  {
    AtomicDir out(path, "test output");
    talon::util::write_file_atomic(out.file("a"), "1");
    EXPECT_FALSE(fs::exists(path));
  }
  EXPECT_FALSE(fs::exists(path));  // abandoned: nothing appears
  AtomicDir first(path, "test output");
  talon::util::write_file_atomic(first.file("a"), "1");
  first.commit();
  AtomicDir second(path, "test output");
  talon::util::write_file_atomic(second.file("b"), "2");
  EXPECT_EQ(read_file(path + "/a"), "1");
  second.commit();
  EXPECT_FALSE(fs::exists(path + "/a"));
  EXPECT_EQ(read_file(path + "/b"), "2");
}

namespace {

// Files under dir, by relative path.
void write_tree(const std::string& dir, const std::map<std::string, std::string>& files) {
  for (const auto& [name, bytes] : files) {
    fs::create_directories(fs::path(dir + "/" + name).parent_path());
    talon::util::write_file_atomic(dir + "/" + name, bytes);
  }
}

// An AtomicDir output of `kind` at path holding `files`.
void commit_tree(const std::string& path, const std::string& kind, const std::map<std::string, std::string>& files) {
  AtomicDir out(path, kind);
  write_tree(out.temp_path(), files);
  out.commit();
}

}  // namespace

TEST_F(AtomicFileTest, ManifestListsEveryFileWithSizeAndXxh64) {
  const std::string path = (dir_ / "out").string();
  commit_tree(path, "test output", {{"empty", ""}, {"sub/abc", "abc"}});
  const nlohmann::json manifest = nlohmann::json::parse(read_file(path + "/.talon-output.json"));
  EXPECT_EQ(manifest["format"], "talon-output");
  EXPECT_EQ(manifest["kind"], "test output");
  // XXH64 (seed 0) of "" and "abc": the reference values xxHash publishes.
  const nlohmann::json files = {{"empty", {{"bytes", 0}, {"xxh64", "ef46db3751d8e999"}}},
                                {"sub/abc", {{"bytes", 3}, {"xxh64", "44bc2cf5ad770999"}}}};
  EXPECT_EQ(manifest["files"], files);
  EXPECT_EQ(talon::util::damaged_files(path), std::vector<std::string>{});
}

TEST_F(AtomicFileTest, DamagedFilesNamesEachChangedTruncatedOrMissingFile) {
  const std::string path = (dir_ / "out").string();
  commit_tree(path, "test output", {{"a", "alpha"}, {"b", "beta"}, {"sub/c", "gamma"}, {"d", "delta"}});
  write_tree(path, {{"a", "alphA"}, {"b", "bet"}, {"extra", "not listed, not checked"}});
  fs::remove(path + "/sub/c");
  EXPECT_EQ(talon::util::damaged_files(path),
            (std::vector<std::string>{path + "/a: checksum differs from .talon-output.json",
                                      path + "/b: 3 bytes where .talon-output.json lists 4",
                                      path + "/sub/c: missing"}));
  fs::remove(path + "/.talon-output.json");
  EXPECT_EQ(talon::util::damaged_files(path), std::nullopt);  // no manifest: nothing to verify against
  talon::util::write_file_atomic(path + "/.talon-output.json", "{\"format\": \"talon-output\"");
  std::optional<std::vector<std::string>> unreadable = talon::util::damaged_files(path);
  ASSERT_TRUE(unreadable && unreadable->size() == 1);
  EXPECT_NE(unreadable->front().find(path + "/.talon-output.json"), std::string::npos) << unreadable->front();
}

// What is at path stays byte for byte when AtomicDir refuses it, at
// construction and, when it appears during the work, at commit.
TEST_F(AtomicFileTest, ReplacesOnlyItsOwnEarlierOutputOfTheSameKind) {
  const std::string path = (dir_ / "out").string();
  auto refused = [&](const std::vector<std::string>& parts) {
    talon::testing::expect_error([&] { AtomicDir out(path, "test output"); }, parts);
  };
  talon::util::write_file_atomic(path, "a file");
  refused({path + " is a file, not a directory", "choose another --output-dir"});
  EXPECT_EQ(read_file(path), "a file");
  fs::remove(path);

  fs::create_directories(dir_ / "elsewhere");
  fs::create_directory_symlink(dir_ / "elsewhere", path);
  refused({path + " is a symbolic link", "give the directory it points to"});
  fs::remove(path);
  fs::remove(dir_ / "elsewhere");

  write_tree(path, {{"notes.txt", "mine"}, {"run/metrics.jsonl", "{}"}, {"b", ""}, {"c", ""}, {"d", ""}, {"e", ""}});
  refused({path + " is not empty and is not an earlier Talon test output (it has no .talon-output.json): it holds "
                  "b, c, d, e, notes.txt, ... (6 in all)"});
  EXPECT_EQ(read_file(path + "/notes.txt"), "mine");
  fs::remove_all(path);

  commit_tree(path, "other output", {{"x", "1"}});
  refused({path + " holds a Talon other output, not a test output"});
  fs::remove_all(path);

  commit_tree(path, "test output", {{"x", "1"}, {"sub/y", "2"}});
  write_tree(path, {{"sub/input.jsonl", "mine"}});
  refused({path + " holds an earlier Talon test output and files it did not write: sub/input.jsonl"});
  EXPECT_EQ(read_file(path + "/sub/input.jsonl"), "mine");
  fs::remove(path + "/sub/input.jsonl");

  {
    AtomicDir again(path, "test output");  // an earlier output of the same kind: accepted...
    write_tree(again.temp_path(), {{"z", "3"}});
    write_tree(path, {{"late.txt", "written meanwhile"}});
    talon::testing::expect_error([&] { again.commit(); }, {"files it did not write: late.txt"});  // ...if still so
  }
  EXPECT_EQ(read_file(path + "/late.txt"), "written meanwhile");
  fs::remove(path + "/late.txt");
  commit_tree(path, "test output", {{"z", "3"}});
  EXPECT_FALSE(fs::exists(path + "/x"));
  EXPECT_EQ(read_file(path + "/z"), "3");

  fs::remove_all(path);
  fs::create_directories(path);
  commit_tree(path, "test output", {{"z", "4"}});  // an empty directory
  EXPECT_EQ(read_file(path + "/z"), "4");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator{}), 1);  // no temporaries left
}

TEST_F(AtomicFileTest, ATrailingSlashNamesTheSameDirectory) {
  const std::string path = (dir_ / "out").string();
  commit_tree(path + "/", "test output", {{"a", "1"}});
  commit_tree(path + "//", "test output", {{"b", "2"}});
  EXPECT_FALSE(fs::exists(path + "/a"));
  EXPECT_EQ(read_file(path + "/b"), "2");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator{}), 1);
}

TEST_F(AtomicFileTest, ReplaceAnythingTakesWhateverIsThere) {
  const std::string path = (dir_ / "out").string();
  write_tree(path, {{"stale", "1"}});
  AtomicDir out(path, "test output", AtomicDir::Replace::kAnything);
  write_tree(out.temp_path(), {{"fresh", "2"}});
  out.commit();
  EXPECT_FALSE(fs::exists(path + "/stale"));
  EXPECT_EQ(read_file(path + "/fresh"), "2");
}

TEST(ReadFile, MissingFileNamesThePath) {
  talon::testing::expect_error([] { read_file("/nonexistent/talon.json"); }, {"/nonexistent/talon.json"});
}
