#include "talon/text/conversation.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "talon/util/error.h"

namespace talon::text {
namespace {

using nlohmann::json;

// The message of the talon::Error that parsing `record` throws, or "" when
// it parses.
std::string error_of(const json& record) {
  try {
    parse_conversation(record);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Conversation, ShareGpt) {
  Conversation c = parse_conversation(json::parse(R"({"id": 7, "conversations": [
      {"from": "system", "value": "Be brief."},
      {"from": "human", "value": "Hi"},
      {"from": "gpt", "value": "Hello"}]})"));
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].role, Role::System);
  EXPECT_EQ(c[0].content, "Be brief.");
  EXPECT_EQ(c[1].role, Role::User);
  EXPECT_EQ(c[1].content, "Hi");
  EXPECT_EQ(c[2].role, Role::Assistant);
  EXPECT_EQ(c[2].content, "Hello");
  EXPECT_FALSE(c[2].reasoning_content);
}

TEST(Conversation, OpenAiUnderEitherKey) {
  for (const char* key : {"messages", "conversations"}) {
    json record = {{key, {{{"role", "user"}, {"content", "2+2?"}},
                          {{"role", "assistant"}, {"content", "4"}, {"reasoning_content", "add"}}}}};
    Conversation c = parse_conversation(record);
    ASSERT_EQ(c.size(), 2u) << key;
    EXPECT_EQ(c[0].role, Role::User);
    EXPECT_EQ(c[0].content, "2+2?");
    EXPECT_EQ(c[1].role, Role::Assistant);
    EXPECT_EQ(c[1].content, "4");
    EXPECT_EQ(c[1].reasoning_content, std::optional<std::string>("add"));
  }
}

TEST(Conversation, RoleAliases) {
  const std::pair<const char*, Role> aliases[] = {
      {"system", Role::System},       {"developer", Role::System}, {"user", Role::User},
      {"human", Role::User},          {"assistant", Role::Assistant}, {"gpt", Role::Assistant},
      {"model", Role::Assistant},     {"chatgpt", Role::Assistant}, {"bard", Role::Assistant},
      {"bing", Role::Assistant},
  };
  for (const auto& [name, role] : aliases) {
    EXPECT_EQ(parse_conversation({{"messages", {{{"role", name}, {"content", "x"}}}}})[0].role, role) << name;
    EXPECT_EQ(parse_conversation({{"conversations", {{{"from", name}, {"value", "x"}}}}})[0].role, role) << name;
  }
}

TEST(Conversation, NullReasoningIsAbsentAndContentIsKeptVerbatim) {
  Conversation c = parse_conversation(json::parse(
      R"({"messages": [{"role": "assistant", "content": "  <think>x</think>\n y\n", "reasoning_content": null}]})"));
  EXPECT_EQ(c[0].content, "  <think>x</think>\n y\n");
  EXPECT_FALSE(c[0].reasoning_content);
}

TEST(Conversation, MalformedRecords) {
  EXPECT_EQ(error_of(json::array()), "expected an object, found []");
  EXPECT_EQ(error_of(json("text")), "expected an object, found \"text\"");
  EXPECT_EQ(error_of(json::object()), "record has neither 'messages' nor 'conversations'");
  EXPECT_EQ(error_of({{"messages", json::array()}, {"conversations", json::array()}}),
            "record has both 'messages' and 'conversations'; expected one");
  EXPECT_EQ(error_of({{"messages", "hi"}}), "field \"messages\": expected an array, found \"hi\"");
  EXPECT_EQ(error_of({{"conversations", json::array()}}), "field \"conversations\" is empty");
  EXPECT_EQ(error_of({{"messages", {"hi"}}}), "field \"messages[0]\": expected an object, found \"hi\"");
}

TEST(Conversation, MalformedMessages) {
  auto one = [](json message) { return error_of({{"messages", {{{"role", "user"}, {"content", "ok"}}, message}}}); };
  EXPECT_EQ(one({{"role", "bot"}, {"content", "x"}}),
            "field \"messages[1].role\": expected one of \"system\", \"developer\", \"user\", \"human\", "
            "\"assistant\", \"gpt\", \"model\", \"chatgpt\", \"bard\", \"bing\", \"tool\", \"ipython\", found \"bot\"");
  EXPECT_EQ(one({{"from", "Human"}, {"value", "x"}}),
            "field \"messages[1].from\": expected one of \"system\", \"developer\", \"user\", \"human\", "
            "\"assistant\", \"gpt\", \"model\", \"chatgpt\", \"bard\", \"bing\", \"tool\", \"ipython\", found "
            "\"Human\"");
  EXPECT_EQ(one({{"content", "x"}}),
            "field \"messages[1]\": expected either 'role' and 'content' (OpenAI) or 'from' and 'value' (ShareGPT), "
            "found neither");
  EXPECT_EQ(one({{"role", "user"}, {"from", "human"}, {"content", "x"}}),
            "field \"messages[1]\": expected either 'role' and 'content' (OpenAI) or 'from' and 'value' (ShareGPT), "
            "found both 'role' and 'from'");
  EXPECT_EQ(one({{"role", "user"}}), "missing field \"messages[1].content\"");
  EXPECT_EQ(one({{"from", "human"}, {"content", "x"}}), "missing field \"messages[1].value\"");
  EXPECT_EQ(one({{"role", "user"}, {"content", 3}}), "field \"messages[1].content\": expected a string, found 3");
  EXPECT_EQ(one({{"role", "user"}, {"content", nullptr}}), "missing field \"messages[1].content\"");
  EXPECT_EQ(one({{"role", "user"}, {"content", {{{"type", "text"}, {"text", "x"}}}}}),
            "field \"messages[1].content\": expected a string, found [{\"text\":\"x\",\"type\":\"text\"}]");
  EXPECT_EQ(one({{"role", 1}, {"content", "x"}}), "field \"messages[1].role\": expected a string, found 1");
  EXPECT_EQ(one({{"role", "assistant"}, {"content", "x"}, {"reasoning_content", false}}),
            "field \"messages[1].reasoning_content\": expected a string, found false");
}

TEST(Conversation, InvalidUtf8) {
  // json::parse rejects invalid UTF-8 itself; a record built in code is checked here.
  EXPECT_EQ(error_of({{"messages", {{{"role", "user"}, {"content", "ok \xC3("}}}}}),
            "field \"messages[0].content\": invalid UTF-8 at byte 3");
  EXPECT_EQ(error_of({{"conversations", {{{"from", "gpt"}, {"value", "\xFF"}}}}}),
            "field \"conversations[0].value\": invalid UTF-8 at byte 0");
}

TEST(Conversation, RoleNames) {
  EXPECT_EQ(role_name(Role::System), "system");
  EXPECT_EQ(role_name(Role::User), "user");
  EXPECT_EQ(role_name(Role::Assistant), "assistant");
}

}  // namespace
// Tool calls: the record's other keys are kept as given for Jinja
// templates (null ones dropped, as transformers drops them), an assistant
// turn that only calls tools may have no content, and "tools" is read apart.
TEST(Conversation, ToolCallsAndOtherKeysAreKeptForTemplates) {
  const auto record = nlohmann::ordered_json::parse(R"({"messages": [
      {"role": "user", "content": "Weather?", "name": null},
      {"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "w", "arguments": {"z": 1, "a": 2}}}], "id": "x"},
      {"role": "ipython", "tool_call_id": "c1", "content": "19 C"}],
    "tools": [{"type": "function", "function": {"name": "w"}}]})");
  const Conversation c = parse_conversation(record);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_TRUE(c[0].extra.empty());
  EXPECT_FALSE(c[1].has_content);
  EXPECT_EQ(c[1].extra.dump(), R"({"tool_calls":[{"type":"function","function":{"name":"w","arguments":{"z":1,"a":2}}}],"id":"x"})");
  EXPECT_EQ(c[2].role, Role::Tool);
  EXPECT_EQ(c[2].extra.dump(), R"({"tool_call_id":"c1"})");
  EXPECT_TRUE(uses_tools(c));
  EXPECT_FALSE(uses_tools({c[0]}));
  EXPECT_EQ(parse_tools(record)->dump(), R"([{"type":"function","function":{"name":"w"}}])");
  EXPECT_FALSE(parse_tools(nlohmann::ordered_json::parse(R"({"tools": null})")));

  auto error = [](const char* text) { return error_of(nlohmann::ordered_json::parse(text)); };
  EXPECT_EQ(error(R"({"messages": [{"role": "user", "content": null}]})"), "missing field \"messages[0].content\"");
  EXPECT_EQ(error(R"({"messages": [{"role": "assistant", "content": "x", "tool_calls": {}}]})"),
            "field \"messages[0].tool_calls\": expected an array, found {}");
  try {
    parse_tools(nlohmann::ordered_json::parse(R"({"tools": {"name": "w"}})"));
    ADD_FAILURE() << "a tools object was read";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "field \"tools\": expected an array of function schemas, found {\"name\":\"w\"}");
  }
}

}  // namespace talon::text
