// Evaluation prompts: each JSONL conversation up to its last user turn,
// with SpecForge's system-prompt rule, rendered by the chat template as a
// generation prompt (add_generation_prompt=True), tokenized without added
// special tokens.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "talon/text/chat_template.h"
#include "talon/text/conversation.h"
#include "talon/text/tokenizer.h"

namespace talon::eval {

// A conversation that ends with a user turn as a generation prompt: with the
// system-prompt rule, rendered with add_generation_prompt, tokenized.
// tools: the record's "tools" (nullptr for none).
std::vector<std::int64_t> render_prompt(const text::Conversation& conversation, const text::Tokenizer& tokenizer,
                                        const text::ChatTemplate& chat_template,
                                        const std::optional<std::string>& system_prompt,
                                        const nlohmann::ordered_json* tools = nullptr);

// The positions a prompt and its reply may take: the target computes any
// position, but its weights only learned the first max_position_embeddings.
struct PositionBudget {
  std::int64_t max_new_tokens = 0;  // generated after each prompt, at most
  std::int64_t max_positions = 0;   // the target's max_position_embeddings
  std::string max_new_tokens_flag = "--max-new-tokens";  // the flag that set max_new_tokens, for errors
};

// The first `limit` prompts of `path` (all when limit <= 0); a line without
// a user turn, or whose prompt and max_new_tokens need more positions than
// the budget, is an error naming file:line.
std::vector<std::vector<std::int64_t>> load_prompts(const std::string& path, const text::Tokenizer& tokenizer,
                                                    const text::ChatTemplate& chat_template,
                                                    const std::optional<std::string>& system_prompt,
                                                    std::int64_t limit, const PositionBudget& budget);

// The token that ends an assistant turn: the first token of the template's
// end_of_turn string.
std::int64_t end_of_turn_id(const text::Tokenizer& tokenizer, const text::ChatTemplate& chat_template);

}  // namespace talon::eval
