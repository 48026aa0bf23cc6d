// A model's own chat template, rendered as transformers' apply_chat_template
// renders it: the Jinja source from the tokenizer directory (or a .jinja
// file), the special tokens of tokenizer_config.json, and the context
// transformers builds (messages with None-valued keys dropped and reasoning
// aliased to `thinking`, tools, documents=None, add_generation_prompt, extra
// keyword arguments).
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>

#include "talon/text/conversation.h"
#include "talon/text/jinja.h"

namespace talon::text {

class HfChatTemplate {
 public:
  // The template of a tokenizer directory as transformers loads it:
  // chat_template.jinja (and additional_chat_templates/*.jinja) before the
  // "chat_template" of tokenizer_config.json (a string, or a list of
  // {"name", "template"}). nullopt when the directory has none.
  static std::optional<HfChatTemplate> from_tokenizer_dir(const std::string& dir);
  // A template file, with the special tokens of `tokenizer_dir`.
  static HfChatTemplate from_file(const std::string& path, const std::string& tokenizer_dir);

  // Extra template variables (vLLM's chat_template_kwargs, e.g.
  // {"enable_thinking": false}); they override special tokens of the same name.
  void set_kwargs(nlohmann::ordered_json kwargs);

  // apply_chat_template(messages, tools=tools, tokenize=False,
  // add_generation_prompt=...). `tools`: nullptr for None. With tools, a
  // template named "tool_use" is chosen over "default" as transformers does.
  jinja::Rendered render(const Conversation& messages, const nlohmann::ordered_json* tools,
                         bool add_generation_prompt) const;

  bool has_generation_blocks() const;
  const std::string& source_name() const;  // the file the default template came from
  // Identifies everything rendering depends on (sources, special tokens, kwargs).
  std::string fingerprint_text() const;

 private:
  std::map<std::string, jinja::Template> templates_;  // "default", "tool_use", ...
  std::string source_name_;
  std::string sources_;  // every template's source, for fingerprint_text
  nlohmann::ordered_json special_tokens_ = nlohmann::ordered_json::object();
  nlohmann::ordered_json kwargs_ = nlohmann::ordered_json::object();
};

// The message as a chat template sees it: {"role", "content", ...}, the
// record's other keys kept, reasoning aliased as transformers 5 does.
nlohmann::ordered_json template_message(const Message& message);

}  // namespace talon::text
