// One conversation record with its assistant turns rewritten, as SpecForge's
// regeneration does: every assistant turn of the input is dropped, and
// after each user turn comes the reply written to everything before it
// (the system turn, the user turns and the replies written so far). The
// output keeps the record's shape: its other fields, the messages' key
// names (OpenAI role/content or ShareGPT from/value) and the role name its
// assistant turns used.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "talon/text/conversation.h"

namespace talon::regen {

class ConversationRewrite {
 public:
  // Throws talon::Error (the JSON path and reason) for a record
  // text::parse_conversation rejects or one without a user turn.
  explicit ConversationRewrite(nlohmann::ordered_json record);

  bool done() const { return !waiting_; }
  // The conversation a reply is wanted for: up to the next user turn.
  const text::Conversation& prompt() const { return prompt_; }
  // No user turn follows the one waiting: this reply is the last.
  bool last_turn() const;
  // The prompt of the last user turn were every reply empty: a lower bound
  // on the positions the whole rewrite needs, known before any reply.
  text::Conversation last_prompt_with_empty_replies() const;
  std::size_t user_turns() const;
  // Records the reply to prompt() and moves to the next user turn.
  void add_reply(const std::string& text);
  // The rewritten record; only once done().
  nlohmann::ordered_json result() const;

 private:
  // Copies the turns up to and including the next user turn (assistant
  // turns dropped); without one, the rewrite is done.
  void advance();

  nlohmann::ordered_json record_;
  std::string list_key_, role_key_, content_key_, assistant_role_;
  text::Conversation source_;
  nlohmann::ordered_json source_messages_;
  nlohmann::ordered_json messages_ = nlohmann::ordered_json::array();
  text::Conversation prompt_;
  std::size_t next_ = 0;  // the next source message to copy
  bool waiting_ = false;  // prompt() ends with a user turn that has no reply yet
};

// OpenAI messages [{"role", "content"}] for a chat-completions request.
nlohmann::json openai_messages(const text::Conversation& conversation);

}  // namespace talon::regen
