#include "chat_template_flags.h"

#include <string>

#include "talon/util/error.h"
#include "talon/util/json_file.h"

namespace talon::cli {

void add_chat_template_flags(CLI::App& cmd, text::ChatTemplateSettings& settings, bool builds_samples) {
  cmd.add_option("--chat-template", settings.name,
                 "A built-in name (the default system prompt and the assistant markers of SpecForge's registry; the "
                 "text is rendered by the tokenizer's own chat template when it has one), or a .jinja or .json "
                 "template file (docs/chat_templates.md)")
      ->capture_default_str();
  cmd.add_option_function<std::string>(
      "--chat-template-kwargs",
      [&settings](const std::string& text) {
        settings.kwargs = util::parse_ordered_json(text, "--chat-template-kwargs");
        if (!settings.kwargs.is_object()) fail("--chat-template-kwargs: expected a JSON object, found {}", text);
      },
      "JSON object of extra variables for a Jinja chat template, as vLLM's chat_template_kwargs "
      "(e.g. '{\"enable_thinking\": false}' or '{\"date_string\": \"26 Jul 2024\"}')");
  if (builds_samples) {
    cmd.add_flag("--supervise-empty-think", settings.supervise_empty_think,
                 "Train on the empty <think></think> block a reasoning template writes before a final answer "
                 "(default: not supervised, since serving never drafts it)");
  }
}

}  // namespace talon::cli
