// Conversations as training data holds them: a list of messages with a role
// and text. Two JSONL shapes are common and both are read here:
//   ShareGPT: {"conversations": [{"from": "human", "value": "..."}, ...]}
//   OpenAI:   {"messages": [{"role": "user", "content": "..."}, ...]}
//             (some datasets put the OpenAI messages under "conversations")
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace talon::text {

enum class Role { System, User, Assistant };

struct Message {
  Role role;
  std::string content;
  // Qwen3-style thinking text kept apart from the answer; only templates with
  // thinking rules render it. nullopt when the record has none (or null).
  std::optional<std::string> reasoning_content;
};

using Conversation = std::vector<Message>;

// Reads one JSONL record. Role names are accepted in either shape:
//   system: "system", "developer"
//   user: "user", "human"
//   assistant: "assistant", "gpt", "model", "chatgpt", "bard", "bing"
// Every string must be valid UTF-8; null counts as absent. Throws
// talon::Error with the JSON path and the reason only, e.g.
//   field "messages[3].role": expected one of "system", ..., found "bot"
// the caller prefixes file and line.
Conversation parse_conversation(const nlohmann::json& record);

std::string_view role_name(Role role);  // "system", "user", "assistant"

}  // namespace talon::text
