// Helpers shared by the tests: scratch directories, error assertions, the
// real tokenizer fixtures, and running the talon binary.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdlib.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "talon/util/error.h"

namespace talon::testing {

// The real tokenizers (tests/fixtures/README.md), unpacked by CMake.
inline const std::string kLlamaTokenizerDir = std::string(TALON_FIXTURES) + "/tokenizers/llama3_1";
inline const std::string kQwenTokenizerDir = std::string(TALON_FIXTURES) + "/tokenizers/qwen3";

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

// `levels` nested JSON arrays, "[[[...]]]": 10^5 of them (200 KB) crashed
// every JSON reader before nesting was bounded (util::kMaxJsonDepth).
inline std::string nested_arrays(std::size_t levels = 100000) {
  return std::string(levels, '[') + std::string(levels, ']');
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

// A TCP port on the loopback interface that nobody listens on now.
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size), 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

// Multi-process tests start their ranks from the test itself: the test runs
// its own binary once per rank, filtered to itself, with the environment
// torchrun would give (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT) plus TALON_TEST_RANK. In those processes is_rank_process()
// is true and the body runs as that rank; each rank checks its own results
// and its exit status carries them back.
inline bool is_rank_process() { return std::getenv("TALON_TEST_RANK") != nullptr; }

// Runs the current test as `world` ranks and expects every one to pass
// within `timeout`.
inline void run_test_ranks(int world, std::chrono::seconds timeout = std::chrono::seconds(240)) {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string filter = std::string("--gtest_filter=") + test->test_suite_name() + "." + test->name();
  const std::string port = std::to_string(free_port());
  std::vector<pid_t> pids;
  for (int rank = 0; rank < world; ++rank) {
    // Built before fork: the child of a threaded process may only exec.
    std::vector<std::string> env = {"TALON_TEST_RANK=1", "RANK=" + std::to_string(rank),
                                    "LOCAL_RANK=" + std::to_string(rank), "WORLD_SIZE=" + std::to_string(world),
                                    "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + port, "OMP_NUM_THREADS=1"};
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);  // later duplicates lose (getenv takes the first)
    std::vector<char*> envp;
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = {"rank", filter, "--gtest_brief=1"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::execve("/proc/self/exe", argv.data(), envp.data());
      std::_Exit(127);
    }
    pids.push_back(pid);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int rank = 0; rank < world; ++rank) {
    int status = 0;
    while (::waitpid(pids[rank], &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        for (pid_t pid : pids) ::kill(pid, SIGKILL);
        ::waitpid(pids[rank], &status, 0);
        ADD_FAILURE() << "rank " << rank << " did not finish within " << timeout.count() << " s";
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "rank " << rank << " failed (status " << status << ")";
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

// `talon <command> <flag> <value>` stops before doing anything, with a
// message that names the flag and its range (tools/flag_range.h).
inline void expect_flag_refused(const std::string& command, const std::string& flag, const std::string& value,
                                const std::string& range) {
  const CommandResult run = run_talon(command + " " + flag + " " + value);
  EXPECT_NE(run.status, 0) << command << " " << flag << " " << value << ": " << run.out;
  const std::string message = flag + ": " + value + " is not in " + range;
  EXPECT_NE(run.out.find(message), std::string::npos) << "\"" << message << "\" not in: " << run.out;
}
#endif

}  // namespace talon::testing
