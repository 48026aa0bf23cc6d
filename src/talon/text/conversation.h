// Conversations as training data holds them: a list of messages with a role
// and text. Two JSONL shapes are common and both are read here:
//   ShareGPT: {"conversations": [{"from": "human", "value": "..."}, ...]}
//   OpenAI:   {"messages": [{"role": "user", "content": "..."}, ...]}
//             (some datasets put the OpenAI messages under "conversations")
// An OpenAI record may also carry tool calls: assistant messages with
// "tool_calls" (and no content), "tool" messages with the results, and a
// record-level "tools" list of function schemas; Jinja chat templates render
// them, the built-in templates refuse them.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace talon::text {

enum class Role { System, User, Assistant, Tool };

struct Message {
  Role role;
  std::string content;
  // Qwen3-style thinking text kept apart from the answer; only templates with
  // thinking rules render it. nullopt when the record has none (or null).
  std::optional<std::string> reasoning_content;
  // The record's other keys with their values as given (tool_calls, name,
  // tool_call_id, ...), for Jinja templates; keys holding null are dropped,
  // as transformers drops them.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
  // false when the record's content is absent or null (an assistant turn that
  // only calls tools): a Jinja template then sees no "content" key.
  bool has_content = true;
};

using Conversation = std::vector<Message>;

// Reads one JSONL record. Role names are accepted in either shape:
//   system: "system", "developer"
//   user: "user", "human"
//   assistant: "assistant", "gpt", "model", "chatgpt", "bard", "bing"
//   tool: "tool", "ipython"
// Every string must be valid UTF-8; null counts as absent. Throws
// talon::Error with the JSON path and the reason only, e.g.
//   field "messages[3].role": expected one of "system", ..., found "bot"
// the caller prefixes file and line.
Conversation parse_conversation(const nlohmann::ordered_json& record);
// The same for a caller that holds the record in both forms already:
// `plain` is nlohmann::json(record), read for its fields (the messages'
// extra keys keep `record`'s order).
Conversation parse_conversation(const nlohmann::json& plain, const nlohmann::ordered_json& record);

// The record's "tools" (an array of function schemas, kept in its key
// order), nullopt when absent or null.
std::optional<nlohmann::ordered_json> parse_tools(const nlohmann::ordered_json& record);

// Whether any message calls or answers a tool (what the built-in templates
// cannot render).
bool uses_tools(const Conversation& conversation);

std::string_view role_name(Role role);  // "system", "user", "assistant", "tool"

}  // namespace talon::text
