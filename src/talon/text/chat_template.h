// Chat templates: how a conversation becomes training text and which of its
// bytes are supervised. The text comes from the model's own Jinja template
// (HfChatTemplate, as apply_chat_template renders it) when the tokenizer has
// one, else from a built-in template described by data, which renders
// exactly what the model family's Hugging Face template renders with
// add_generation_prompt=False. docs/chat_templates.md lists the built-ins'
// strings, the JSON format of user-defined templates and the rules below.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "talon/text/conversation.h"
#include "talon/text/hf_chat_template.h"

namespace talon::text {

using Span = std::pair<std::size_t, std::size_t>;  // bytes [begin, end) of a rendered text

struct SupervisedText {
  std::string text;
  std::vector<Span> spans;  // supervised bytes, in order
};

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

  // The model's own template; when set it renders the text and the fields
  // above only give the markers and the default system prompt.
  std::shared_ptr<const HfChatTemplate> hf;
  // Whether the empty think block a reasoning template writes before a
  // final answer ("<think>\n\n</think>\n\n") is supervised (see
  // render_supervised).
  bool supervise_empty_think = false;

  // What Hugging Face's apply_chat_template renders (add_generation_prompt=False).
  // An empty conversation renders as "". Throws talon::Error for a conversation
  // the template rejects (alternate_roles, a late system message with Merge,
  // raise_exception in a Jinja template, tool calls in a built-in template).
  std::string render(const Conversation& conversation, const nlohmann::ordered_json* tools = nullptr) const;
  // The prompt for the next assistant turn (add_generation_prompt=True; a
  // built-in template appends its assistant header).
  std::string render_generation_prompt(const Conversation& conversation,
                                       const nlohmann::ordered_json* tools = nullptr) const;
  // The text and its supervised spans: the template's {% generation %}
  // blocks when it has any, else assistant_spans. A span that opens with a
  // think block holding only whitespace starts after that block (and the
  // newlines after it) unless supervise_empty_think: serving never drafts
  // it (with thinking off the template puts it in the prompt; with thinking
  // on the model writes real reasoning).
  SupervisedText render_supervised(const Conversation& conversation,
                                   const nlohmann::ordered_json* tools = nullptr) const;

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

// What the --chat-template flags choose.
struct ChatTemplateSettings {
  std::string name = "llama3";  // a built-in name, a .json or a .jinja file
  nlohmann::ordered_json kwargs = nlohmann::ordered_json::object();  // extra template variables
  bool supervise_empty_think = false;
};

// A built-in name: its system prompt and markers (SpecForge's registry),
// the text rendered by the template of `tokenizer_dir` when it has one (after
// checking that the markers appear in what it renders), else by the built-in.
// A .json file: that data template. A .jinja file: that template, with the
// special tokens of `tokenizer_dir`, no default system prompt, and markers
// read off its own renderings (the generation prompt's addition is the
// assistant header; what follows a reply is the end of turn).
ChatTemplate resolve_template(const ChatTemplateSettings& settings, const std::string& tokenizer_dir);

// SpecForge's rule: a conversation whose first message is not a system
// message gets one first. override: nullopt = the template's system_prompt;
// "" = none; any other text = that text. An empty prompt inserts nothing.
Conversation with_system_prompt(Conversation conversation, const ChatTemplate& tmpl,
                                const std::optional<std::string>& override);

}  // namespace talon::text
