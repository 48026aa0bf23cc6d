#include "talon/regen/conversation_rewrite.h"

#include <algorithm>

#include "talon/util/error.h"

namespace talon::regen {

ConversationRewrite::ConversationRewrite(nlohmann::ordered_json record) : record_(std::move(record)) {
  source_ = text::parse_conversation(record_);
  if (std::none_of(source_.begin(), source_.end(), [](const text::Message& m) { return m.role == text::Role::User; })) {
    fail("the conversation has no user turn to reply to");
  }
  // Replies are rewritten as text; a tool call dropped with them would leave
  // its tool results answering nothing.
  if (text::uses_tools(source_) || record_.contains("tools")) {
    fail("the conversation has tools or tool calls, which regenerate does not rewrite (it writes text replies)");
  }
  // parse_conversation has checked the shape: a list under one of these
  // keys, each message with either role/content or from/value.
  list_key_ = record_.contains("messages") ? "messages" : "conversations";
  source_messages_ = record_[list_key_];
  const bool openai = source_messages_.front().contains("role");
  role_key_ = openai ? "role" : "from";
  content_key_ = openai ? "content" : "value";
  assistant_role_ = openai ? "assistant" : "gpt";
  for (std::size_t i = 0; i < source_.size(); ++i) {
    if (source_[i].role == text::Role::Assistant) {
      assistant_role_ = source_messages_[i][role_key_].get<std::string>();
      break;
    }
  }
  advance();
}

void ConversationRewrite::advance() {
  waiting_ = false;
  while (next_ < source_.size() && !waiting_) {
    const text::Message& m = source_[next_];
    if (m.role != text::Role::Assistant) {
      messages_.push_back(source_messages_[next_]);
      prompt_.push_back(m);
    }
    waiting_ = m.role == text::Role::User;
    ++next_;
  }
}

bool ConversationRewrite::last_turn() const {
  return std::none_of(source_.begin() + static_cast<std::ptrdiff_t>(next_), source_.end(),
                      [](const text::Message& m) { return m.role == text::Role::User; });
}

text::Conversation ConversationRewrite::last_prompt_with_empty_replies() const {
  text::Conversation prompt;
  for (const text::Message& m : source_) {
    if (m.role == text::Role::Assistant) continue;
    if (!prompt.empty() && prompt.back().role == text::Role::User) {
      prompt.push_back({text::Role::Assistant, std::string(), std::nullopt});
    }
    prompt.push_back(m);
  }
  // What follows the last user turn is in no prompt; the constructor has
  // checked that there is a user turn.
  while (prompt.back().role != text::Role::User) prompt.pop_back();
  return prompt;
}

std::size_t ConversationRewrite::user_turns() const {
  return static_cast<std::size_t>(
      std::count_if(source_.begin(), source_.end(), [](const text::Message& m) { return m.role == text::Role::User; }));
}

void ConversationRewrite::add_reply(const std::string& text) {
  if (done()) fail("conversation rewrite: a reply with no user turn waiting for one");
  messages_.push_back({{role_key_, assistant_role_}, {content_key_, text}});
  prompt_.push_back({text::Role::Assistant, text, std::nullopt});
  advance();
}

nlohmann::ordered_json ConversationRewrite::result() const {
  if (!done()) fail("conversation rewrite: result() before every user turn has a reply");
  nlohmann::ordered_json out = record_;
  out[list_key_] = messages_;
  return out;
}

nlohmann::json openai_messages(const text::Conversation& conversation) {
  nlohmann::json messages = nlohmann::json::array();
  for (const text::Message& m : conversation) {
    messages.push_back({{"role", std::string(text::role_name(m.role))}, {"content", m.content}});
  }
  return messages;
}

}  // namespace talon::regen
