// A Jinja interpreter for Hugging Face chat templates: renders the
// `chat_template` of a model's tokenizer_config.json (or chat_template.jinja)
// exactly as transformers' apply_chat_template does with Jinja2, without
// Python. The environment is transformers' own: trim_blocks and
// lstrip_blocks on, loop controls (break, continue), the `{% generation %}`
// block, `raise_exception(msg)` and `strftime_now(fmt)` as globals, and
// `tojson` as json.dumps(x, ensure_ascii=False) (indent, separators and
// sort_keys as arguments). docs/chat_templates.md lists what is covered.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace talon::text::jinja {

struct Rendered {
  std::string text;
  // Byte spans [begin, end) of `text` written inside {% generation %} ...
  // {% endgeneration %}, in order (transformers' generation_indices).
  std::vector<std::pair<std::size_t, std::size_t>> generation_spans;
};

class Template {
 public:
  // Parses `source`. A syntax error throws talon::Error naming `source_name`
  // and the template line, e.g.
  //   qwen3.jinja:12: expected 'endif' to close the 'if' of line 4, found end of template
  Template(const std::string& source, std::string source_name);
  ~Template();
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;

  // Renders with `context` (a JSON object: messages, tools,
  // add_generation_prompt, bos_token, ... as apply_chat_template passes them).
  // A runtime error (raise_exception, an undefined attribute used where Jinja2
  // fails, a type error) throws talon::Error naming source_name and line;
  // raise_exception's message is kept verbatim.
  Rendered render(const nlohmann::ordered_json& context) const;

  // Whether the template has any {% generation %} block.
  bool has_generation_blocks() const;

  const std::string& source_name() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace talon::text::jinja
