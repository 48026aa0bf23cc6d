#include "talon/text/conversation.h"

#include <nlohmann/json.hpp>

#include <array>
#include <utility>

#include "talon/util/error.h"
#include "talon/util/utf8.h"

namespace talon::text {
namespace {

using nlohmann::json;

// One table for both shapes: datasets mix ShareGPT's names into OpenAI
// records and the other way round often enough that splitting buys nothing.
constexpr std::array<std::pair<std::string_view, Role>, 10> kRoleNames = {{
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
}};

Role parse_role(std::string_view name, const std::string& path) {
  for (const auto& [known, role] : kRoleNames) {
    if (known == name) return role;
  }
  std::string expected;
  for (const auto& entry : kRoleNames) {
    expected += expected.empty() ? "" : ", ";
    expected += entry.first;
  }
  fail("{}: unknown role '{}' (expected one of: {})", path, name, expected);
}

const std::string& string_field(const json& message, const char* key, const std::string& path) {
  auto it = message.find(key);
  if (it == message.end()) fail("{}: missing '{}'", path, key);
  std::string field_path = path + "." + key;
  if (!it->is_string()) fail("{}: expected a string, found {}", field_path, it->type_name());
  const std::string& value = it->get_ref<const std::string&>();
  std::size_t bad = util::find_invalid_utf8(value);
  if (bad != std::string::npos) fail("{}: invalid UTF-8 at byte {}", field_path, bad);
  return value;
}

Message parse_message(const json& message, const std::string& path) {
  if (!message.is_object()) fail("{}: expected an object, found {}", path, message.type_name());
  bool openai = message.contains("role");
  bool sharegpt = message.contains("from");
  if (openai == sharegpt) {
    fail("{}: expected either 'role' and 'content' (OpenAI) or 'from' and 'value' (ShareGPT), found {}", path,
         openai ? "both 'role' and 'from'" : "neither");
  }
  Message out;
  out.role = parse_role(string_field(message, openai ? "role" : "from", path), path + (openai ? ".role" : ".from"));
  out.content = string_field(message, openai ? "content" : "value", path);
  auto reasoning = message.find("reasoning_content");
  if (reasoning != message.end() && !reasoning->is_null()) {
    out.reasoning_content = string_field(message, "reasoning_content", path);
  }
  return out;
}

}  // namespace

Conversation parse_conversation(const json& record) {
  if (!record.is_object()) fail("expected a JSON object, found {}", record.type_name());
  bool has_messages = record.contains("messages");
  bool has_conversations = record.contains("conversations");
  if (has_messages && has_conversations) fail("record has both 'messages' and 'conversations'; expected one");
  if (!has_messages && !has_conversations) fail("record has neither 'messages' nor 'conversations'");
  const char* key = has_messages ? "messages" : "conversations";
  const json& list = record.at(key);
  if (!list.is_array()) fail("'{}': expected an array, found {}", key, list.type_name());
  if (list.empty()) fail("'{}' is empty", key);

  Conversation conversation;
  conversation.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    conversation.push_back(parse_message(list[i], fmt::format("{}[{}]", key, i)));
  }
  return conversation;
}

std::string_view role_name(Role role) {
  switch (role) {
    case Role::System: return "system";
    case Role::User: return "user";
    case Role::Assistant: return "assistant";
  }
  fail("invalid Role value {}", static_cast<int>(role));
}

}  // namespace talon::text
