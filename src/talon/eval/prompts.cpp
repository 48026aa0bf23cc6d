#include "talon/eval/prompts.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "talon/text/conversation.h"
#include "talon/util/error.h"
#include "talon/util/json_file.h"

namespace talon::eval {

std::vector<std::vector<std::int64_t>> load_prompts(const std::string& path, const text::Tokenizer& tokenizer,
                                                    const text::ChatTemplate& chat_template,
                                                    const std::optional<std::string>& system_prompt,
                                                    std::int64_t limit, const PositionBudget& budget) {
  if (budget.max_new_tokens >= budget.max_positions) {
    fail("{} {} leaves no room for a prompt: the target's max_position_embeddings is {}", budget.max_new_tokens_flag,
         budget.max_new_tokens, budget.max_positions);
  }
  std::ifstream in(path);
  if (!in) fail("{}: cannot open", path);
  std::vector<std::vector<std::int64_t>> prompts;
  std::string line;
  for (std::int64_t number = 1;
       std::getline(in, line) && (limit <= 0 || static_cast<std::int64_t>(prompts.size()) < limit); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", path, number);
    text::Conversation conversation;
    std::optional<nlohmann::ordered_json> tools;
    try {
      const nlohmann::ordered_json record = util::parse_ordered_json(line, where);
      conversation = text::parse_conversation(record);
      tools = text::parse_tools(record);
    } catch (const Error& e) {
      fail("{}: {}", where, e.what());
    }
    std::size_t end = conversation.size();
    while (end > 0 && conversation[end - 1].role != text::Role::User) --end;
    if (end == 0) fail("{}: the conversation has no user turn to prompt with", where);
    conversation.resize(end);
    prompts.push_back(render_prompt(conversation, tokenizer, chat_template, system_prompt, tools ? &*tools : nullptr));
    const auto needed = static_cast<std::int64_t>(prompts.back().size()) + budget.max_new_tokens;
    if (needed > budget.max_positions) {
      fail("{}: the prompt's {} tokens and {} {} need {} positions, more than the target's "
           "max_position_embeddings {}",
           where, prompts.back().size(), budget.max_new_tokens_flag, budget.max_new_tokens, needed,
           budget.max_positions);
    }
  }
  return prompts;
}

std::vector<std::int64_t> render_prompt(const text::Conversation& conversation, const text::Tokenizer& tokenizer,
                                        const text::ChatTemplate& chat_template,
                                        const std::optional<std::string>& system_prompt,
                                        const nlohmann::ordered_json* tools) {
  const std::vector<std::int32_t> ids = tokenizer.encode(
      chat_template.render_generation_prompt(text::with_system_prompt(conversation, chat_template, system_prompt), tools));
  return {ids.begin(), ids.end()};
}

std::int64_t end_of_turn_id(const text::Tokenizer& tokenizer, const text::ChatTemplate& chat_template) {
  const std::vector<std::int32_t> ids = tokenizer.encode(chat_template.end_of_turn);
  if (ids.empty()) fail("chat template {}: its end_of_turn string encodes to no token", chat_template.name);
  return ids.front();
}

}  // namespace talon::eval
