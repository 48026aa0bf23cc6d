#include "talon/util/atomic_file.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "talon/util/error.h"
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
    AtomicDir out(path);
    talon::util::write_file_atomic(out.file("a"), "1");
    EXPECT_FALSE(fs::exists(path));
  }
  EXPECT_FALSE(fs::exists(path));  // abandoned: nothing appears
  AtomicDir first(path);
  talon::util::write_file_atomic(first.file("a"), "1");
  first.commit();
  AtomicDir second(path);
  talon::util::write_file_atomic(second.file("b"), "2");
  EXPECT_EQ(read_file(path + "/a"), "1");
  second.commit();
  EXPECT_FALSE(fs::exists(path + "/a"));
  EXPECT_EQ(read_file(path + "/b"), "2");
}

TEST(ReadFile, MissingFileNamesThePath) {
  talon::testing::expect_error([] { read_file("/nonexistent/talon.json"); }, {"/nonexistent/talon.json"});
}
