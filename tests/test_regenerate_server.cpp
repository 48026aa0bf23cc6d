// `talon regenerate --server-address` against a chat-completions server the
// test runs on loopback (cpp-httplib, an HTTP implementation independent of
// Talon's client). The server answers "re[<last user turn>]#<messages>
// seed <seed>", so the expected output is known line by line; some prompts
// make it fail always (HTTP 500), refuse (HTTP 400), fail twice (503),
// stall past the request timeout once, or answer in chunks. Checked: the output in input order
// and shape, the failures file, the retries each prompt got, and a run
// killed after some lines resuming to the same files without asking again.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "talon/util/atomic_file.h"
#include "test_support.h"

namespace talon {
namespace {

using nlohmann::ordered_json;
using testing::run_talon;
using testing::TempDir;

class FakeChatServer {
 public:
  FakeChatServer() {
    server_.Post("/v1/chat/completions", [this](const httplib::Request& request, httplib::Response& response) {
      answer(nlohmann::json::parse(request.body), response);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeChatServer() {
    server_.stop();
    thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int tries(const std::string& prompt) {
    std::lock_guard lock(mutex_);
    return tries_[prompt];
  }
  int requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void answer(const nlohmann::json& request, httplib::Response& response) {
    const nlohmann::json& messages = request["messages"];
    const std::string last = messages.back()["content"];
    int attempt = 0;
    {
      std::lock_guard lock(mutex_);
      attempt = ++tries_[last];
      ++requests_;
    }
    if (last.find("always-500") != std::string::npos) {
      response.status = 500;
      response.set_content("overloaded", "text/plain");
    } else if (last.find("bad-request") != std::string::npos) {
      response.status = 400;
      response.set_content("no such model", "text/plain");
    } else if (last.find("deep-answer") != std::string::npos) {
      response.set_content(R"({"choices":)" + testing::nested_arrays() + "}",
                           "application/json");
    } else if (last.find("flaky") != std::string::npos && attempt <= 2) {
      response.status = 503;
    } else {
      if (last.find("stall-once") != std::string::npos && attempt == 1) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      }
      const std::string reply = "re[" + last + "]#" + std::to_string(messages.size()) + " seed " +
                                std::to_string(request["seed"].get<std::uint64_t>());
      const std::string body =
          nlohmann::json{{"choices", {{{"message", {{"role", "assistant"}, {"content", reply}}}}}}}.dump();
      if (last.find("chunked") == std::string::npos) {
        response.set_content(body, "application/json");
      } else {  // Transfer-Encoding: chunked, in pieces of 7 bytes
        response.set_chunked_content_provider("application/json", [body](std::size_t offset, httplib::DataSink& sink) {
          if (offset < body.size()) {
            sink.write(body.data() + offset, std::min<std::size_t>(7, body.size() - offset));
          } else {
            sink.done();
          }
          return true;
        });
      }
    }
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::map<std::string, int> tries_;
  int requests_ = 0;
};

// Input lines and what each becomes.
struct Case {
  std::string input;
  std::string output;  // the expected output line; "" for none
  std::string error;   // a piece of the expected failure; "" for none
};

std::vector<Case> cases() {
  std::vector<Case> c = {
      {R"({"id":"a","conversations":[{"from":"human","value":"hello"},{"from":"gpt","value":"old"}]})",
       R"({"id":"a","conversations":[{"from":"human","value":"hello"},{"from":"gpt","value":"re[hello]#1 seed 101"}]})",
       ""},
      {"", "", ""},
      {R"({"messages":[{"role":"system","content":"sys"},{"role":"user","content":"q1"},)"
       R"({"role":"assistant","content":"a1"},{"role":"user","content":"flaky q2"},)"
       R"({"role":"assistant","content":"a2"}],"extra":1})",
       R"({"messages":[{"role":"system","content":"sys"},{"role":"user","content":"q1"},)"
       R"({"role":"assistant","content":"re[q1]#2 seed 103"},{"role":"user","content":"flaky q2"},)"
       R"({"role":"assistant","content":"re[flaky q2]#4 seed 103"}],"extra":1})",
       ""},
      {R"({"conversations":[{"from":"human","value":"always-500"}]})", "", "HTTP 500: overloaded (4 tries)"},
      {R"({"conversations": [)", "", "not valid JSON"},
      {R"({"messages":[{"role":"user","content":"stall-once"}]})",
       R"({"messages":[{"role":"user","content":"stall-once"},{"role":"assistant","content":"re[stall-once]#1 seed 106"}]})",
       ""},
      {R"({"messages":[{"role":"system","content":"only"}]})", "", "no user turn"},
      {R"({"messages":[{"role":"user","content":"bad-request"}]})", "", "HTTP 400: no such model (1 try)"},
  };
  for (int i = 9; i <= 24; ++i) {
    const std::string n = "n" + std::to_string(i);
    c.push_back({R"({"conversations":[{"from":"human","value":")" + n + R"("}],"i":)" + std::to_string(i) + "}",
                 R"({"conversations":[{"from":"human","value":")" + n + R"("},{"from":"gpt","value":"re[)" + n +
                     "]#1 seed " + std::to_string(100 + i) + R"("}],"i":)" + std::to_string(i) + "}",
                 ""});
  }
  c.push_back({"{\"conversations\": [\xff", "", "not valid JSON"});  // recorded with U+FFFD for the byte
  c.push_back(
      {R"({"messages":[{"role":"user","content":"chunked"}]})",
       R"({"messages":[{"role":"user","content":"chunked"},{"role":"assistant","content":"re[chunked]#1 seed 126"}]})",
       ""});
  return c;
}

std::string input_text() {
  std::string text;
  for (const Case& c : cases()) text += c.input + "\n";
  return text;
}

std::string expected_output() {
  std::string text;
  for (const Case& c : cases()) {
    if (!c.output.empty()) text += ordered_json::parse(c.output).dump() + "\n";
  }
  return text;
}

std::string args(const FakeChatServer& server, const std::string& input, const std::string& output,
                 const std::string& extra = "--max-retries 3") {
  return fmt::format(
      "regenerate --server-address {} --input-file-path {} --output-file-path {} --seed 100 "
      "--system-prompt '' --concurrency 4 --request-timeout 0.5 --retry-backoff 0.05 {}",
      server.address(), input, output, extra);
}

void expect_failures(const std::string& path) {
  const std::vector<nlohmann::json> failures = testing::read_jsonl(path);
  std::vector<Case> all = cases();
  std::size_t next = 0;
  for (std::size_t line = 1; line <= all.size(); ++line) {
    const Case& c = all[line - 1];
    if (c.error.empty()) continue;
    ASSERT_LT(next, failures.size()) << "no failure for line " << line;
    EXPECT_EQ(failures[next]["line"], line);
    EXPECT_NE(failures[next]["error"].get<std::string>().find(c.error), std::string::npos) << failures[next];
    std::string input = c.input;
    if (const std::size_t bad = input.find('\xff'); bad != std::string::npos) input.replace(bad, 1, "\xef\xbf\xbd");
    EXPECT_EQ(failures[next]["input"], input);
    ++next;
  }
  EXPECT_EQ(next, failures.size());
}

TEST(RegenerateServer, RewritesInOrderRetriesAndRecordsFailures) {
  TempDir tmp;
  FakeChatServer server;
  const std::string input = tmp.write("in.jsonl", input_text()), output = tmp.file("out.jsonl");
  auto run = run_talon(args(server, input, output));
  ASSERT_EQ(run.status, 0) << run.out;
  EXPECT_NE(run.out.find("26 lines covered (0 by earlier runs), 5 failed"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("regenerate: the first failure: line 4: HTTP 500: overloaded (4 tries)\n"), std::string::npos)
      << run.out;
  EXPECT_EQ(util::read_file(output), expected_output());
  expect_failures(output + ".failed.jsonl");
  EXPECT_EQ(server.tries("always-500"), 4);
  EXPECT_EQ(server.tries("bad-request"), 1);
  EXPECT_EQ(server.tries("flaky q2"), 3);
  EXPECT_EQ(server.tries("stall-once"), 2);
}

TEST(RegenerateServer, AKilledRunResumesToTheSameFiles) {
  TempDir tmp;
  FakeChatServer server;
  const std::string input = tmp.write("in.jsonl", input_text()), output = tmp.file("out.jsonl");
  ::setenv("TALON_REGENERATE_KILL_AFTER_LINES", "12", 1);
  auto killed = run_talon(args(server, input, output));
  ::unsetenv("TALON_REGENERATE_KILL_AFTER_LINES");
  ASSERT_EQ(killed.status, 137) << killed.out;
  const nlohmann::json progress = nlohmann::json::parse(util::read_file(output + ".progress"));
  const std::int64_t done = progress["lines_done"];
  EXPECT_LT(done, 12);
  EXPECT_GT(util::read_file(output).size(), progress["output_bytes"].get<std::size_t>())
      << "the killed run wrote lines its progress file does not count";
  auto resumed = run_talon(args(server, input, output));
  ASSERT_EQ(resumed.status, 0) << resumed.out;
  EXPECT_NE(resumed.out.find(fmt::format("26 lines covered ({} by earlier runs), 5 failed", done)), std::string::npos)
      << resumed.out;
  EXPECT_EQ(util::read_file(output), expected_output());
  expect_failures(output + ".failed.jsonl");
  for (std::int64_t line = 9; line <= done; ++line) {
    EXPECT_EQ(server.tries("n" + std::to_string(line)), 1) << "line " << line << " asked again after the resume";
  }

  const int before = server.requests();
  auto again = run_talon(args(server, input, output));
  ASSERT_EQ(again.status, 0) << again.out;
  EXPECT_NE(again.out.find("26 lines covered (26 by earlier runs)"), std::string::npos) << again.out;
  EXPECT_EQ(server.requests(), before) << "a finished run asks nothing";
  EXPECT_EQ(util::read_file(output), expected_output());
}

TEST(RegenerateServer, NeverOverwritesAFileItDidNotStart) {
  TempDir tmp;
  FakeChatServer server;
  const std::string input = tmp.write("in.jsonl", input_text()), output = tmp.write("out.jsonl", "precious\n");
  auto run = run_talon(args(server, input, output));
  EXPECT_NE(run.status, 0);
  EXPECT_NE(run.out.find(output + ": exists and has no " + output + ".progress"), std::string::npos) << run.out;
  EXPECT_EQ(util::read_file(output), "precious\n");
  EXPECT_EQ(server.requests(), 0);
}

TEST(RegenerateServer, AnUnreachableServerFailsEverySampleClearly) {
  TempDir tmp;
  const int port = testing::free_port();
  const std::string input = tmp.write("in.jsonl", cases()[0].input + "\n"), output = tmp.file("out.jsonl");
  auto run =
      run_talon(fmt::format("regenerate --server-address http://127.0.0.1:{}/v1 --input-file-path {} "
                            "--output-file-path {} --max-retries 1 --retry-backoff 0.01",
                            port, input, output));
  EXPECT_EQ(run.status, 1) << run.out;
  EXPECT_NE(run.out.find("1 failed"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(fmt::format("talon: error: regenerate: no line succeeded; the first failure: line 1: "
                                     "http://127.0.0.1:{}/v1/chat/completions: cannot connect",
                                     port)),
            std::string::npos)
      << run.out;
  const std::vector<nlohmann::json> failures = testing::read_jsonl(output + ".failed.jsonl");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0]["error"].get<std::string>().find(
                fmt::format("http://127.0.0.1:{}/v1/chat/completions: cannot connect", port)),
            std::string::npos)
      << failures[0];
}

// Without retries, more lines fail (the flaky one, the one that stalls
// once); --retry-failed asks again for exactly the failed lines and leaves
// the files a run with retries writes. A retry killed midway leaves the
// output as it was and resumes.
TEST(RegenerateServer, RetryFailedAsksAgainForTheFailedLinesOnly) {
  TempDir tmp;
  FakeChatServer server;
  const std::string input = tmp.write("in.jsonl", input_text()), output = tmp.file("out.jsonl");
  auto first = run_talon(args(server, input, output, "--max-retries 0"));
  ASSERT_EQ(first.status, 0) << first.out;
  EXPECT_NE(first.out.find("26 lines covered (0 by earlier runs), 7 failed"), std::string::npos) << first.out;
  const std::string output_then = util::read_file(output), failures_then = util::read_file(output + ".failed.jsonl");

  ::setenv("TALON_REGENERATE_KILL_AFTER_LINES", "12", 1);
  auto killed = run_talon(args(server, input, output, "--max-retries 3 --retry-failed"));
  ::unsetenv("TALON_REGENERATE_KILL_AFTER_LINES");
  ASSERT_EQ(killed.status, 137) << killed.out;
  EXPECT_EQ(util::read_file(output), output_then);
  EXPECT_EQ(util::read_file(output + ".failed.jsonl"), failures_then);

  auto retried = run_talon(args(server, input, output, "--max-retries 3 --retry-failed"));
  ASSERT_EQ(retried.status, 0) << retried.out;
  EXPECT_NE(retried.out.find("26 lines covered (26 by earlier runs), 7 failed lines asked again, 5 failed"),
            std::string::npos)
      << retried.out;
  EXPECT_EQ(util::read_file(output), expected_output());
  expect_failures(output + ".failed.jsonl");
  EXPECT_FALSE(std::filesystem::exists(output + ".retry"));
  EXPECT_FALSE(std::filesystem::exists(output + ".retry.progress"));
  for (int line = 9; line <= 24; ++line) {
    EXPECT_EQ(server.tries("n" + std::to_string(line)), 1) << "line " << line << " succeeded and was asked again";
  }
  EXPECT_GE(server.tries("always-500"), 1 + 4);

  const int before = server.requests();
  auto plain = run_talon(args(server, input, output));
  ASSERT_EQ(plain.status, 0) << plain.out;
  EXPECT_EQ(server.requests(), before) << "a rerun without --retry-failed asks nothing";
  EXPECT_EQ(util::read_file(output), expected_output());
}

// 10^5 nested arrays, in a line or in the server's answer, crashed every
// run; a repeated key kept its last value.
TEST(RegenerateServer, RefusesDeepNestingAndRepeatedKeysPerLine) {
  TempDir tmp;
  FakeChatServer server;
  const std::string deep = testing::nested_arrays();
  const std::string input = tmp.write("in.jsonl", cases()[0].input + "\n" + R"({"messages":)" + deep + "}\n" +
                                                       R"({"messages":[{"role":"user","role":"user","content":"x"}]})"
                                                       "\n" + R"({"messages":[{"role":"user","content":"deep-answer"}]})"
                                                       "\n");
  const std::string output = tmp.file("out.jsonl");
  auto run = run_talon(args(server, input, output));
  EXPECT_NE(run.out.find("4 lines covered (0 by earlier runs), 3 failed"), std::string::npos) << run.out;
  EXPECT_EQ(util::read_file(output), ordered_json::parse(cases()[0].output).dump() + "\n");
  const std::vector<nlohmann::json> failures = testing::read_jsonl(output + ".failed.jsonl");
  ASSERT_EQ(failures.size(), 3u);
  const std::vector<std::string> errors = {
      "nested deeper than 512 levels of arrays and objects (Talon's limit)",
      "duplicate key \"role\" in \"messages\"",
      "the answer: nested deeper than 512 levels of arrays and objects (Talon's limit) (it begins {\"choices\":[[[",
  };
  for (std::size_t i = 0; i < errors.size(); ++i) {
    EXPECT_EQ(failures[i]["line"], i + 2);
    EXPECT_NE(failures[i]["error"].get<std::string>().find(errors[i]), std::string::npos) << failures[i]["error"];
  }
}

}  // namespace
}  // namespace talon
