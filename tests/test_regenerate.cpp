// talon regenerate's parts and its native path. A conversation rewrite
// keeps the record's shape and asks for a reply after each user turn with
// the replies so far; server addresses parse as SGLang and vLLM print them.
// End to end on the tiny example, the native path (batched, two turns in
// one record) writes what greedy generation of each turn alone gives,
// rendered and decoded here; sampled text follows the seed. The server path
// is test_regenerate_server.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <set>

#include "talon/eval/generate.h"
#include "talon/eval/prompts.h"
#include "talon/regen/conversation_rewrite.h"
#include "talon/regen/http_client.h"
#include "talon/regen/regenerate.h"
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

TEST(ConversationRewrite, ARecordWithToolCallsIsRefused) {
  for (const char* record :
       {R"({"messages": [{"role": "user", "content": "q"}, {"role": "tool", "content": "19 C"}]})",
        R"({"messages": [{"role": "user", "content": "q"}], "tools": [{"type": "function"}]})",
        R"({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": []}]})"}) {
    EXPECT_NE(testing::error_of([&] { regen::ConversationRewrite(ordered_json::parse(record)); })
                  .find("the conversation has tools or tool calls, which regenerate does not rewrite"),
              std::string::npos)
        << record;
  }
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

TEST(Url, RefusesWhatIsNotAServerAddress) {
  const std::pair<const char*, const char*> cases[] = {
      {"http//127.0.0.1:59999", "the path //127.0.0.1:59999 has an empty segment (is a ':' missing after http?)"},
      {"http://127.0.0.1:99999", "the port 99999 is not a number in [1, 65535]"},
      {"127.0.0.1:0", "the port 0 is not a number in [1, 65535]"},
      {"http://h:", "the port '' is not a number in [1, 65535]"},
      {"http://[::1", "the IPv6 host has no closing ']'"},
      {"http://[::1]x:80", "x:80 follows the IPv6 host"},
      {"http://h:80/v1?key=1", "it has a query (?key=1)"},
      {"http://h:80/v1#top", "it has a fragment (#top)"},
      {"ftp://h:21", "the scheme ftp is not http"},
      {"http://user@h:80", "the host user@h has a '@'"},
      {"http://:80", "the host is empty"},
  };
  for (const auto& [address, reason] : cases) {
    const std::string error = testing::error_of([&] { regen::Url::parse(address); });
    EXPECT_NE(error.find(fmt::format("\"{}\": {}", address, reason)), std::string::npos) << error;
  }
}

TEST(Regenerate, ABadServerAddressIsRefusedBeforeStarting) {
  testing::TempDir tmp;
  const std::string input = tmp.write("in.jsonl", R"({"messages":[{"role":"user","content":"hi"}]})" "\n");
  const std::string output = tmp.file("out.jsonl");
  auto run = run_talon(fmt::format("regenerate --server-address 'http://[::1' --input-file-path {} "
                                   "--output-file-path {}",
                                   input, output));
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.out.find("talon: error: regenerate: --server-address \"http://[::1\": the IPv6 host has no closing "
                         "']'; expected [http://]host[:port][/path]"),
            std::string::npos)
      << run.out;
  EXPECT_FALSE(std::filesystem::exists(output));
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
  const text::ChatTemplate llama3 = text::resolve_template({"llama3"}, "");
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

// A rewriter that marks each record with `tag`, failing the lines in `fail`;
// counts the samples it is asked for.
regen::Rewriter tagging(const std::string& tag, std::set<std::int64_t> fail, int& asked) {
  return [tag, fail, &asked](const std::vector<regen::Sample>& samples) {
    std::vector<regen::Outcome> outcomes;
    for (const regen::Sample& s : samples) {
      ++asked;
      if (fail.count(s.line)) {
        outcomes.push_back({{}, "refused " + std::to_string(s.line)});
      } else {
        ordered_json record = s.record;
        record["tag"] = tag;
        outcomes.push_back({record, ""});
      }
    }
    return outcomes;
  };
}

// A retry pass renames its three files over the output after writing a
// marker; a run killed partway through the renames (here: after the first)
// has them completed by the next run, before it reads the output.
TEST(Regenerate, ARetryKilledWhileRenamingIsCompletedByTheNextRun) {
  testing::TempDir tmp;
  const std::string input = tmp.write("in.jsonl", "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
  const std::string out = tmp.file("out.jsonl"), retry = out + ".retry";
  int asked = 0;
  regen::RegenerateSettings settings{input, out};
  regen::RegenerateReport report = regen::regenerate(settings, tagging("first", {2}, asked));
  EXPECT_EQ(report.failed, 1);
  EXPECT_EQ(report.first_failure, "line 2: refused 2");
  // What a finished retry leaves, made by a run into its names.
  regen::RegenerateSettings into_retry{input, retry};
  regen::regenerate(into_retry, tagging("second", {}, asked));
  const std::string retried = util::read_file(retry);
  std::filesystem::rename(retry + ".failed.jsonl", out + ".failed.jsonl");
  util::write_file_atomic(retry + ".commit", "");

  asked = 0;
  report = regen::regenerate(settings, tagging("third", {}, asked));
  EXPECT_EQ(asked, 0);
  EXPECT_EQ(report.lines, 3);
  EXPECT_EQ(report.failed, 0);
  EXPECT_EQ(util::read_file(out), retried);
  EXPECT_EQ(util::read_file(out + ".failed.jsonl"), "");
  for (const std::string& left : {retry, retry + ".progress", retry + ".failed.jsonl", retry + ".commit"}) {
    EXPECT_FALSE(std::filesystem::exists(left)) << left;
  }
}

// A copy of the fixture's target with `edit` applied to its config.json.
std::string edited_target(const testing::Fixture& f, const std::string& name,
                          const std::function<void(nlohmann::json&)>& edit) {
  const std::string dir = f.tmp.file(name);
  std::filesystem::copy(f.target, dir, std::filesystem::copy_options::recursive);
  nlohmann::json config = nlohmann::json::parse(util::read_file(dir + "/config.json"));
  edit(config);
  util::write_file_atomic(dir + "/config.json", config.dump(2));
  return dir;
}

TEST(Regenerate, ATokenizerOfAnotherModelIsRefusedBeforeStarting) {
  testing::Fixture f(1);
  const std::string target = edited_target(f, "qwen_tokenizer", [](nlohmann::json&) {});
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"}) {
    std::filesystem::copy_file(testing::kQwenTokenizerDir + "/" + file, target + "/" + file,
                               std::filesystem::copy_options::overwrite_existing);
  }
  const std::string input = f.tmp.write("in.jsonl", kRecords), output = f.tmp.file("out.jsonl");
  auto run = run_talon(fmt::format(
      "regenerate --target-model-path {} --input-file-path {} --output-file-path {} --chat-template qwen3", target,
      input, output));
  EXPECT_EQ(run.status, 1);
  const std::int64_t qwen_ids = text::Tokenizer::load(testing::kQwenTokenizerDir).vocab_size();
  EXPECT_NE(run.out.find(fmt::format("talon: error: {}/config.json: vocab_size 128256 is smaller than the vocabulary "
                                     "of the tokenizer in {} ({} ids)",
                                     target, target, qwen_ids)),
            std::string::npos)
      << run.out;
  EXPECT_FALSE(std::filesystem::exists(output));
}

// A line whose prompt or reply would pass the target's
// max_position_embeddings fails, naming the turn; the others are written.
TEST(Regenerate, ALineBeyondTheTargetsContextFails) {
  testing::Fixture f(1);
  const text::Tokenizer tokenizer = text::Tokenizer::load(f.target);
  const text::ChatTemplate llama3 = text::resolve_template({"llama3"}, "");
  using text::Role;
  const text::Conversation short_one = {{Role::User, "Say hi.", std::nullopt}};
  const eval::Tokens prompt = eval::render_prompt(short_one, tokenizer, llama3, std::string());
  // Room for two reply tokens after the short prompt.
  const auto context = static_cast<std::int64_t>(prompt.size()) + 2;
  const std::string target =
      edited_target(f, "short_context", [&](nlohmann::json& c) { c["max_position_embeddings"] = context; });
  const std::string long_user(200, 'x');
  const std::string input = f.tmp.write(
      "in.jsonl", R"({"messages":[{"role":"user","content":"Say hi."}]})"
                  "\n"
                  R"({"messages":[{"role":"user","content":")" + long_user + R"("}]})" "\n");
  const std::string output = f.tmp.file("out.jsonl");
  auto run = run_talon(fmt::format("regenerate --target-model-path {} --input-file-path {} --output-file-path {} "
                                   "--max-new-tokens 6 --system-prompt '' --temperature 0",
                                   target, input, output));
  const std::vector<nlohmann::json> failures = testing::read_jsonl(output + ".failed.jsonl");
  // The short prompt's reply fits only if the target ends it within two tokens.
  const model::TargetModel model = model::TargetModel::load(target, at::kCPU, at::kFloat);
  const std::int64_t eot = eval::end_of_turn_id(tokenizer, llama3);
  const eval::Tokens reply = eval::generate(model, {prompt}, {2, {eot}}).front();
  const bool fits = reply.back() == eot;
  ASSERT_EQ(run.status, fits ? 0 : 1) << run.out;
  ASSERT_EQ(failures.size(), fits ? 1u : 2u) << run.out;
  if (!fits) {
    EXPECT_EQ(failures[0]["line"], 1);
    EXPECT_EQ(failures[0]["error"], fmt::format("turn 1: the prompt ({} tokens) and the reply reach the target's "
                                                "max_position_embeddings {} before the reply's end of turn",
                                                prompt.size(), context));
  }
  EXPECT_EQ(failures.back()["line"], 2);
  EXPECT_NE(failures.back()["error"].get<std::string>().find(fmt::format(
                "the conversation's 1 turns need at least {} positions without their replies, more than the "
                "target's max_position_embeddings {}",
                eval::render_prompt({{Role::User, long_user, std::nullopt}}, tokenizer, llama3, std::string()).size() + 1,
                context)),
            std::string::npos)
      << failures.back();
}

// A conversation of many short turns whose prompts, with every reply
// empty, already fill the target's context fails before its first turn:
// generating turn after turn would only have found that at its last turns.
TEST(Regenerate, AConversationBeyondTheContextWithoutRepliesFailsAtOnce) {
  testing::Fixture f(1);
  const text::Tokenizer tokenizer = text::Tokenizer::load(f.target);
  const text::ChatTemplate llama3 = text::resolve_template({"llama3"}, "");
  constexpr int kTurns = 300;
  nlohmann::json messages = nlohmann::json::array();
  text::Conversation empty_replies;
  for (int t = 0; t < kTurns; ++t) {
    const std::string user = fmt::format("Turn {}.", t);
    messages.push_back({{"role", "user"}, {"content", user}});
    messages.push_back({{"role", "assistant"}, {"content", "an old reply"}});
    empty_replies.push_back({text::Role::User, user, std::nullopt});
    if (t + 1 < kTurns) empty_replies.push_back({text::Role::Assistant, "", std::nullopt});
  }
  // The last prompt with empty replies and one reply token need one
  // position more than the target has; the first turns fit easily.
  const auto needed =
      static_cast<std::int64_t>(eval::render_prompt(empty_replies, tokenizer, llama3, std::string()).size()) + 1;
  const std::string target = edited_target(f, "short_context",
                                           [&](nlohmann::json& c) { c["max_position_embeddings"] = needed - 1; });
  const std::string input = f.tmp.write("in.jsonl", nlohmann::json{{"messages", messages}}.dump() + "\n");
  const std::string output = f.tmp.file("out.jsonl");
  auto run = run_talon(fmt::format("regenerate --target-model-path {} --input-file-path {} --output-file-path {} "
                                   "--max-new-tokens 1 --system-prompt '' --temperature 0",
                                   target, input, output));
  ASSERT_EQ(run.status, 1) << run.out;
  const std::vector<nlohmann::json> failures = testing::read_jsonl(output + ".failed.jsonl");
  ASSERT_EQ(failures.size(), 1u) << run.out;
  EXPECT_EQ(failures[0]["error"], fmt::format("the conversation's {} turns need at least {} positions without their "
                                              "replies, more than the target's max_position_embeddings {}",
                                              kTurns, needed, needed - 1));
}

// Conversations of several turns (and one of one) in one batch: every
// reply is what generating from the whole conversation so far, rendered
// and tokenized afresh, gives: the path without a kept cache.
TEST(Regenerate, KeptCachesWriteTheRepliesOfFreshPrompts) {
  testing::Fixture f(1);
  std::string records;
  const std::vector<std::vector<std::string>> users = {
      {"Name a color.", "Another one.", "And a third?", "Why?", "Thanks!"}, {"Count to three."}, {"Hi.", "Bye."}};
  for (const auto& turns : users) {
    nlohmann::json messages = nlohmann::json::array();
    for (const std::string& u : turns) {
      messages.push_back({{"role", "user"}, {"content", u}});
      messages.push_back({{"role", "assistant"}, {"content", "old"}});
    }
    records += nlohmann::json{{"messages", messages}}.dump() + "\n";
  }
  const std::string input = f.tmp.write("in.jsonl", records), output = f.tmp.file("out.jsonl");
  auto run = run_talon(regenerate_args(f, input, output, "--temperature 0 --batch-size 3"));
  ASSERT_EQ(run.status, 0) << run.out;
  const std::vector<nlohmann::json> got = testing::read_jsonl(output);
  ASSERT_EQ(got.size(), users.size());

  const model::TargetModel target = model::TargetModel::load(f.target, at::kCPU, at::kFloat);
  const text::Tokenizer tokenizer = text::Tokenizer::load(f.target);
  const text::ChatTemplate llama3 = text::resolve_template({"llama3"}, "");
  const std::int64_t eot = eval::end_of_turn_id(tokenizer, llama3);
  for (std::size_t c = 0; c < users.size(); ++c) {
    text::Conversation so_far;
    for (std::size_t t = 0; t < users[c].size(); ++t) {
      so_far.push_back({text::Role::User, users[c][t], std::nullopt});
      const std::vector<std::int32_t> ids = tokenizer.encode(llama3.render(so_far) + llama3.assistant.header);
      eval::Tokens tokens = eval::generate(target, {{ids.begin(), ids.end()}}, {6, {eot}}).front();
      if (!tokens.empty() && tokens.back() == eot) tokens.pop_back();
      const std::string reply = tokenizer.decode({tokens.begin(), tokens.end()});
      EXPECT_EQ(got[c]["messages"][2 * t + 1]["content"], reply) << "conversation " << c << " turn " << t;
      so_far.push_back({text::Role::Assistant, reply, std::nullopt});
    }
  }
}

// Token-level turns: each prompt is the last prompt, the reply and a few
// new tokens. Replies equal generate()'s on the whole prompt, and only the
// tokens the cache does not hold run as prompt: one for the reply's last
// token (never fed back) plus the new ones, so the cost is linear in turns.
TEST(ContinuedGeneration, RunsOnlyTheNewTokensOfEachTurn) {
  testing::Fixture f(1);
  const model::TargetModel target = model::TargetModel::load(f.target, at::kCPU, at::kFloat);
  const eval::GenerationLimits limits{5, {}};
  std::vector<eval::Tokens> prompts = {{128000, 9906, 11, 1917}, {128000, 791, 6460, 374, 264, 1296, 13}};
  eval::ContinuedGeneration generation(target, 2);
  std::int64_t expected = 11;
  for (int turn = 0; turn < 6; ++turn) {
    const bool last = turn == 5;
    const std::vector<eval::Tokens> replies = generation.reply({0, 1}, prompts, {last, last}, limits);
    EXPECT_EQ(generation.prefilled(), expected) << "turn " << turn;
    for (std::size_t c = 0; c < 2; ++c) {
      EXPECT_EQ(replies[c], eval::generate(target, {prompts[c]}, limits).front()) << "turn " << turn << " row " << c;
      prompts[c].insert(prompts[c].end(), replies[c].begin(), replies[c].end());
      prompts[c].insert(prompts[c].end(), {271, static_cast<std::int64_t>(100 + turn)});
      expected += 1 + 2;
    }
  }
}

// Where a prompt departs from the tokens its cache holds (a reply the
// tokenizer encodes otherwise), the cache is cut back to the common prefix
// and the replies stay generate()'s; a conversation that is over leaves.
TEST(ContinuedGeneration, CutsTheCacheBackWherePromptsDepart) {
  testing::Fixture f(1);
  const model::TargetModel target = model::TargetModel::load(f.target, at::kCPU, at::kFloat);
  const eval::GenerationLimits limits{4, {}};
  std::vector<eval::Tokens> prompts = {{128000, 9906, 11, 1917, 0}, {128000, 791, 6460}, {128000, 40}};
  eval::ContinuedGeneration generation(target, 3);
  std::vector<eval::Tokens> replies = generation.reply({0, 1, 2}, prompts, {false, false, true}, limits);
  for (std::size_t c = 0; c < 3; ++c) EXPECT_EQ(replies[c], eval::generate(target, {prompts[c]}, limits).front());
  const std::int64_t before = generation.prefilled();
  // Row 0 changes its prompt's third token; row 1 continues from its reply's
  // second token, replaced.
  prompts[0][2] = 13;
  prompts[0].push_back(55);
  prompts[1].insert(prompts[1].end(), {replies[1][0], 777, 888});
  replies = generation.reply({0, 1}, {prompts[0], prompts[1]}, {true, true}, limits);
  EXPECT_EQ(generation.prefilled() - before, (6 - 2) + 2);
  EXPECT_EQ(replies[0], eval::generate(target, {prompts[0]}, limits).front());
  EXPECT_EQ(replies[1], eval::generate(target, {prompts[1]}, limits).front());
  EXPECT_NE(testing::error_of([&] { generation.reply({2}, {prompts[2]}, {true}, limits); })
                .find("conversation 2 is over or was never started"),
            std::string::npos);
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
