// Arbitrary bytes as a chat template -> jinja::Template -> render with a
// conversation that has a system prompt, tools, tool calls and reasoning.
// talon::Error is expected (most inputs do not parse); a crash, a hang, a
// sanitizer report or a generation span outside the text is a bug.

#include <cstddef>
#include <cstdint>
#include <string>

#include "talon/text/jinja.h"
#include "talon/util/error.h"

namespace {

const nlohmann::ordered_json& context() {
  static const nlohmann::ordered_json c = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Weather in Paris? é 😀"},
      {"role": "assistant", "content": "<think>\nlook it up\n</think>\n\n", "reasoning_content": "look it up",
       "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
      {"role": "tool", "content": "{\"temp\": 21.5}"},
      {"role": "assistant", "content": "21.5 C"}],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather.",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"})");
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string source(reinterpret_cast<const char*>(data), size);
  try {
    talon::text::jinja::Template t(source, "fuzz.jinja");
    talon::text::jinja::Rendered r = t.render(context());
    for (const auto& [begin, end] : r.generation_spans) {
      if (begin > end || end > r.text.size()) __builtin_trap();
    }
  } catch (const talon::Error&) {
  }
  return 0;
}
