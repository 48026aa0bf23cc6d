#include "talon/text/conversation.h"

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <utility>

#include "talon/util/error.h"
#include "talon/util/json_fields.h"
#include "talon/util/utf8.h"

namespace talon::text {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;
using util::JsonFields;
using util::JsonLocation;

// One table for both shapes: datasets mix ShareGPT's names into OpenAI
// records and the other way round often enough that splitting buys nothing.
const std::initializer_list<std::pair<std::string_view, Role>> kRoleNames = {
    {"system", Role::System},
    {"developer", Role::System},
    {"user", Role::User},
    {"human", Role::User},
    {"assistant", Role::Assistant},
    {"gpt", Role::Assistant},
    {"model", Role::Assistant},
    {"chatgpt", Role::Assistant},
    {"bard", Role::Assistant},
    {"bing", Role::Assistant},
    {"tool", Role::Tool},
    {"ipython", Role::Tool},
};

// json::parse rejects invalid UTF-8 itself; a record built in code may hold
// any bytes.
void check_utf8(const std::string& text, const JsonLocation& where) {
  std::size_t bad = util::find_invalid_utf8(text);
  if (bad != std::string::npos) fail("{}: invalid UTF-8 at byte {}", where.str(), bad);
}

// `message` is `ordered`, read through `fields` (the same value unordered,
// for the checks); the record's other keys are kept from `ordered`.
Message parse_message(const JsonFields& message, const ordered_json& ordered) {
  const JsonLocation& where = message.where();
  bool openai = message.value().contains("role");
  bool sharegpt = message.value().contains("from");
  if (openai == sharegpt) {
    fail("{}: expected either 'role' and 'content' (OpenAI) or 'from' and 'value' (ShareGPT), found {}", where.str(),
         openai ? "both 'role' and 'from'" : "neither");
  }
  const char* role_key = openai ? "role" : "from";
  const char* content_key = openai ? "content" : "value";
  std::optional<Role> role = message.choice(role_key, kRoleNames);
  if (!role) message.fail_missing(role_key);
  const json* tool_calls = message.find("tool_calls");
  if (tool_calls != nullptr && !tool_calls->is_array()) message.fail_field("tool_calls", "an array");
  std::optional<std::string> content = message.string(content_key);
  // OpenAI's shape: an assistant turn that only calls tools has no content.
  if (!content && !(role == Role::Assistant && tool_calls != nullptr)) message.fail_missing(content_key);
  Message out{*role, content.value_or(""), message.string("reasoning_content")};
  out.has_content = content.has_value();
  check_utf8(out.content, where / content_key);
  if (out.reasoning_content) check_utf8(*out.reasoning_content, where / "reasoning_content");
  for (const auto& [key, value] : ordered.items()) {
    if (key != role_key && key != content_key && key != "reasoning_content" && !value.is_null()) out.extra[key] = value;
  }
  return out;
}

}  // namespace

Conversation parse_conversation(const ordered_json& value) { return parse_conversation(json(value), value); }

Conversation parse_conversation(const json& plain, const ordered_json& value) {
  JsonFields record(plain, JsonLocation());
  bool has_messages = record.find("messages") != nullptr;
  bool has_conversations = record.find("conversations") != nullptr;
  if (has_messages && has_conversations) fail("record has both 'messages' and 'conversations'; expected one");
  if (!has_messages && !has_conversations) fail("record has neither 'messages' nor 'conversations'");
  const char* key = has_messages ? "messages" : "conversations";
  const json& list = record.required_array(key);
  if (list.empty()) fail("{} is empty", (record.where() / key).str());

  Conversation conversation;
  conversation.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    conversation.push_back(parse_message(JsonFields(list[i], record.where() / key / i), value[key][i]));
  }
  return conversation;
}

std::optional<ordered_json> parse_tools(const ordered_json& record) {
  auto it = record.find("tools");
  if (it == record.end() || it->is_null()) return std::nullopt;
  if (!it->is_array()) JsonLocation("", "tools").fail_expected("an array of function schemas", json(*it));
  for (std::size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_object()) (JsonLocation("", "tools") / i).fail_expected("an object", json((*it)[i]));
  }
  return *it;
}

bool uses_tools(const Conversation& conversation) {
  for (const Message& m : conversation) {
    if (m.role == Role::Tool || m.extra.contains("tool_calls")) return true;
  }
  return false;
}

std::string_view role_name(Role role) {
  switch (role) {
    case Role::System: return "system";
    case Role::User: return "user";
    case Role::Assistant: return "assistant";
    case Role::Tool: return "tool";
  }
  fail("invalid Role value {}", static_cast<int>(role));
}

}  // namespace talon::text
