// Chat templates described by data instead of Jinja. Each built-in template
// renders exactly what the model family's own Hugging Face template renders
// with add_generation_prompt=False; docs/chat_templates.md lists their strings
// and the JSON format of user-defined templates.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "talon/text/conversation.h"

namespace talon::text {

// One message renders as header + content + end.
struct TurnFormat {
  std::string header;
  std::string end;
};

enum class SystemStyle {
  Turn,   // a system message is a turn of its own
  Merge,  // a first system message is written, wrapped in the system format,
          // right after the first remaining turn's header (Gemma has no system role)
};

enum class ThinkingStyle {
  None,
  Qwen3,  // Qwen3's rules for <think> blocks on assistant turns (see render)
};

struct ChatTemplate {
  std::string name;
  std::optional<std::string> system_prompt;  // inserted by with_system_prompt (SpecForge's registry value)
  std::string bos;                           // before the first message
  std::string eos;                           // after the last message (Phi-3 ends with its eos token)
  TurnFormat system, user, assistant;
  bool trim_content = false;  // Jinja `| trim` (Python str.strip()) on every message's content
  SystemStyle system_style = SystemStyle::Turn;
  // A system turn the model's own template adds when the first message is not
  // a system message (Qwen2.5 does); unrelated to with_system_prompt.
  std::optional<std::string> implicit_system_prompt;
  // Roles must alternate user, assistant, user, ... (after a merged system
  // message); like Hugging Face's Gemma template, render throws otherwise.
  bool alternate_roles = false;
  ThinkingStyle thinking = ThinkingStyle::None;

  // The supervised-span rule (SpecForge's regex):
  std::string assistant_header;  // e.g. "<|start_header_id|>assistant<|end_header_id|>\n\n"
  std::string end_of_turn;       // e.g. "<|eot_id|>", "<|im_end|>\n"

  // What Hugging Face's apply_chat_template renders (add_generation_prompt=False).
  // An empty conversation renders as "". Throws talon::Error for a conversation
  // the template rejects (alternate_roles, a late system message with Merge).
  std::string render(const Conversation& conversation) const;

  // Supervised byte spans [begin, end) of `text`: the matches of group 1 of
  //   re.escape(assistant_header) + r"([\s\S]*?(?:" + re.escape(end_of_turn) + r"|$))"
  // found by Python's re.finditer (no MULTILINE: `$` also matches just before
  // a final "\n"). Each span runs from just after a header through the turn's
  // end_of_turn inclusive, or to the end of an unterminated last turn.
  std::vector<std::pair<std::size_t, std::size_t>> assistant_spans(std::string_view text) const;
};

// Built-ins: llama3, qwen, qwen3, deepseek, phi3, phi4, gemma.
const ChatTemplate& builtin_template(std::string_view name);  // error lists the known names
std::vector<std::string> builtin_template_names();

// A user-defined template from a JSON file (format in docs/chat_templates.md);
// errors name the file and the field.
ChatTemplate load_template_file(const std::string& path);

// A built-in name, else a path to a .json template file.
ChatTemplate resolve_template(const std::string& name_or_path);

// SpecForge's rule: a conversation whose first message is not a system
// message gets one first. override: nullopt = the template's system_prompt;
// "" = none; any other text = that text. An empty prompt inserts nothing.
Conversation with_system_prompt(Conversation conversation, const ChatTemplate& tmpl,
                                const std::optional<std::string>& override);

}  // namespace talon::text
