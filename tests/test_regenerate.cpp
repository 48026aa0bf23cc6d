// talon regenerate's parts and its native path. A conversation rewrite
// keeps the record's shape and asks for a reply after each user turn with
// the replies so far; server addresses parse as SGLang and vLLM print them.
// End to end on the tiny example, the native path (batched, two turns in
// one record) writes what greedy generation of each turn alone gives,
// rendered and decoded here; sampled text follows the seed. The server path
// is test_regenerate_server.cpp.
#include <gtest/gtest.h>

#include "talon/eval/generate.h"
#include "talon/eval/prompts.h"
#include "talon/regen/conversation_rewrite.h"
#include "talon/regen/http_client.h"
#include "talon/text/chat_template.h"
#include "talon/util/atomic_file.h"
#include "train_fixture.h"

namespace talon {
namespace {

using nlohmann::ordered_json;
using testing::run_talon;

TEST(ConversationRewrite, RepliesFollowEachUserTurnInTheRecordsShape) {
  regen::ConversationRewrite r(ordered_json::parse(
      R"({"id": 7, "conversations": [{"from": "system", "value": "s"}, {"from": "human", "value": "q1"},
          {"from": "chatgpt", "value": "old 1", "x": 1}, {"from": "human", "value": "q2"},
          {"from": "chatgpt", "value": "old 2"}], "z": true})"));
  ASSERT_FALSE(r.done());
  ASSERT_EQ(r.prompt().size(), 2u);
  EXPECT_EQ(r.prompt()[1].content, "q1");
  r.add_reply("new 1");
  ASSERT_FALSE(r.done());
  ASSERT_EQ(r.prompt().size(), 4u);
  EXPECT_EQ(r.prompt()[2].role, text::Role::Assistant);
  EXPECT_EQ(r.prompt()[2].content, "new 1");
  EXPECT_EQ(r.prompt()[3].content, "q2");
  EXPECT_EQ(regen::openai_messages(r.prompt()).dump(),
            R"([{"content":"s","role":"system"},{"content":"q1","role":"user"},{"content":"new 1","role":"assistant"},)"
            R"({"content":"q2","role":"user"}])");
  r.add_reply("new 2");
  ASSERT_TRUE(r.done());
  EXPECT_EQ(r.result().dump(),
            R"({"id":7,"conversations":[{"from":"system","value":"s"},{"from":"human","value":"q1"},)"
            R"({"from":"chatgpt","value":"new 1"},{"from":"human","value":"q2"},{"from":"chatgpt","value":"new 2"}],)"
            R"("z":true})");
}

TEST(ConversationRewrite, ARecordWithoutAUserTurnIsRefused) {
  EXPECT_NE(testing::error_of([] {
              regen::ConversationRewrite(ordered_json::parse(R"({"messages": [{"role": "system", "content": "s"}]})"));
            }).find("no user turn"),
            std::string::npos);
  EXPECT_NE(testing::error_of([] {
              regen::ConversationRewrite(ordered_json::parse(R"({"messages": [{"role": "bot", "content": "x"}]})"));
            }).find("messages[0].role"),
            std::string::npos);
}

TEST(Url, ParsesServerAddresses) {
  regen::Url u = regen::Url::parse("localhost:30000");
  EXPECT_EQ(u.host, "localhost");
  EXPECT_EQ(u.port, "30000");
  EXPECT_EQ(u.base, "");
  u = regen::Url::parse("http://10.0.0.2:8000/v1/");
  EXPECT_EQ(u.host, "10.0.0.2");
  EXPECT_EQ(u.port, "8000");
  EXPECT_EQ(u.base, "/v1");
  u = regen::Url::parse("http://[::1]:9/api");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, "9");
  EXPECT_EQ(u.base, "/api");
  EXPECT_EQ(regen::Url::parse("example.org").port, "80");
  EXPECT_NE(testing::error_of([] { regen::Url::parse("https://x:1"); }).find("https is not supported"),
            std::string::npos);
  EXPECT_NE(testing::error_of([] { regen::Url::parse("host:port"); }).find("expected [http://]host[:port][/path]"),
            std::string::npos);
}

const char* kRecords =
    R"({"id":"one","conversations":[{"from":"human","value":"Name a color."},{"from":"gpt","value":"Red."}]})"
    "\n"
    R"({"id":"two","messages":[{"role":"user","content":"Count to three."},{"role":"assistant","content":"1 2 3"},)"
    R"({"role":"user","content":"Again."}]})"
    "\n"
    R"({"id":"three","conversations":[{"from":"human","value":"Say hi."}]})"
    "\n";

std::string regenerate_args(const testing::Fixture& f, const std::string& input, const std::string& output,
                            const std::string& extra) {
  return fmt::format(
      "regenerate --target-model-path {} --input-file-path {} --output-file-path {} "
      "--max-new-tokens 6 --system-prompt '' {}",
      f.target, input, output, extra);
}

TEST(Regenerate, NativeRepliesAreTheTargetsGreedyTurns) {
  testing::Fixture f(1);
  const std::string input = f.tmp.write("in.jsonl", kRecords), output = f.tmp.file("out.jsonl");
  auto run = run_talon(regenerate_args(f, input, output, "--temperature 0 --batch-size 2"));
  ASSERT_EQ(run.status, 0) << run.out;
  const std::vector<nlohmann::json> got = testing::read_jsonl(output);
  ASSERT_EQ(got.size(), 3u);

  const model::TargetModel target = model::TargetModel::load(f.target, at::kCPU, at::kFloat);
  const text::Tokenizer tokenizer = text::Tokenizer::load(f.target);
  const text::ChatTemplate llama3 = text::resolve_template("llama3");
  const std::int64_t eot = eval::end_of_turn_id(tokenizer, llama3);
  // Each turn alone: the conversation so far rendered with the generation
  // prompt, greedy tokens up to the end of turn, decoded without it.
  auto reply = [&](const text::Conversation& so_far) {
    const std::vector<std::int32_t> ids = tokenizer.encode(llama3.render(so_far) + llama3.assistant.header);
    eval::Tokens tokens = eval::generate(target, {{ids.begin(), ids.end()}}, {6, {eot}}).front();
    if (!tokens.empty() && tokens.back() == eot) tokens.pop_back();
    return tokenizer.decode({tokens.begin(), tokens.end()});
  };
  using text::Role;
  const std::string one = reply({{Role::User, "Name a color.", std::nullopt}});
  EXPECT_EQ(got[0]["conversations"][1], (nlohmann::json{{"from", "gpt"}, {"value", one}}));
  const std::string two_a = reply({{Role::User, "Count to three.", std::nullopt}});
  const std::string two_b = reply({{Role::User, "Count to three.", std::nullopt},
                                   {Role::Assistant, two_a, std::nullopt},
                                   {Role::User, "Again.", std::nullopt}});
  EXPECT_EQ(got[1]["messages"].size(), 4u);
  EXPECT_EQ(got[1]["messages"][1]["content"], two_a);
  EXPECT_EQ(got[1]["messages"][3], (nlohmann::json{{"role", "assistant"}, {"content", two_b}}));
  EXPECT_EQ(got[2]["conversations"][1]["value"], reply({{Role::User, "Say hi.", std::nullopt}}));
  EXPECT_EQ(got[2]["id"], "three");
}

// Each line and turn draws from its own stream of the seed; that batching
// leaves the stream alone is checked on generate() itself
// (test_speculative.cpp), where the wide weights make the distributions
// peaked: this tiny target's are nearly flat over 128K tokens, where the
// last-bit differences between batch shapes move sampled tokens.
TEST(Regenerate, SampledTextFollowsTheSeed) {
  testing::Fixture f(1);
  const std::string input = f.tmp.write("in.jsonl", kRecords);
  std::vector<std::string> outputs;
  for (const char* extra : {"--temperature 1 --seed 5 --batch-size 3", "--temperature 1 --seed 5 --batch-size 3",
                            "--temperature 1 --seed 6 --batch-size 3"}) {
    const std::string output = f.tmp.file("out" + std::to_string(outputs.size()) + ".jsonl");
    auto run = run_talon(regenerate_args(f, input, output, extra));
    ASSERT_EQ(run.status, 0) << run.out;
    outputs.push_back(util::read_file(output));
  }
  EXPECT_EQ(outputs[0], outputs[1]);
  EXPECT_NE(outputs[1], outputs[2]);
}

TEST(Regenerate, FlagsOutOfTheirRangeAreRefusedByName) {
  for (const auto& [flag, value, range] : std::vector<std::array<std::string, 3>>{
           {"--max-new-tokens", "0", "[1, inf)"},
           {"--temperature", "-0.5", "[0, 100]"},
           {"--top-p", "0", "(0, 1]"},
           {"--top-p", "1.5", "(0, 1]"},
           {"--seed", "-1", "[0, 18446744073709551615]"},
           {"--num-samples", "-1", "[0, inf)"},
           {"--batch-size", "0", "[1, inf)"},
           {"--concurrency", "0", "[1, inf)"},
           {"--request-timeout", "0", "(0, inf)"},
           {"--max-retries", "-1", "[0, inf)"},
           {"--retry-backoff", "-1", "[0, inf)"},
       }) {
    testing::expect_flag_refused("regenerate", flag, value, range);
  }
}

}  // namespace
}  // namespace talon
