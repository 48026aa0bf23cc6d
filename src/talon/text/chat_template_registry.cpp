// The built-in templates. Turn strings come from each family's Hugging Face
// chat template; system prompts and span strings from SpecForge's registry
// (specforge/data/template.py) where it has the family.
#include "talon/text/chat_template.h"

#include <fmt/ranges.h>

#include <algorithm>

#include "talon/util/error.h"

namespace talon::text {
namespace {

constexpr const char* kLlama3SystemPrompt =
    "You are a helpful, respectful and honest assistant. Always answer as helpfully as possible, while being safe.  "
    "Your answers should not include any harmful, unethical, racist, sexist, toxic, dangerous, or illegal content. "
    "Please ensure that your responses are socially unbiased and positive in nature.\n\n"
    "If a question does not make any sense, or is not factually coherent, explain why instead of answering "
    "something not correct. If you don't know the answer to a question, please don't share false information.";
constexpr const char* kHelpfulAssistant = "You are a helpful assistant.";

ChatTemplate llama3() {
  ChatTemplate t;
  t.name = "llama3";
  t.system_prompt = kLlama3SystemPrompt;
  t.bos = "<|begin_of_text|>";
  t.system = {"<|start_header_id|>system<|end_header_id|>\n\n", "<|eot_id|>"};
  t.user = {"<|start_header_id|>user<|end_header_id|>\n\n", "<|eot_id|>"};
  t.assistant = {"<|start_header_id|>assistant<|end_header_id|>\n\n", "<|eot_id|>"};
  t.trim_content = true;
  t.assistant_header = t.assistant.header;
  t.end_of_turn = "<|eot_id|>";
  return t;
}

// ChatML as Qwen2/Qwen2.5/Qwen3 write it.
ChatTemplate chatml(std::string name) {
  ChatTemplate t;
  t.name = std::move(name);
  t.system_prompt = kHelpfulAssistant;
  t.system = {"<|im_start|>system\n", "<|im_end|>\n"};
  t.user = {"<|im_start|>user\n", "<|im_end|>\n"};
  t.assistant = {"<|im_start|>assistant\n", "<|im_end|>\n"};
  t.assistant_header = t.assistant.header;
  t.end_of_turn = "<|im_end|>\n";
  return t;
}

ChatTemplate qwen() {
  ChatTemplate t = chatml("qwen");
  t.implicit_system_prompt = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
  return t;
}

ChatTemplate qwen3() {
  ChatTemplate t = chatml("qwen3");
  t.thinking = ThinkingStyle::Qwen3;
  return t;
}

// DeepSeek LLM / V2 chat: "User: ...\n\nAssistant: ...<eos>". SpecForge's
// registry has an empty end_of_turn, which makes the span regex match nothing;
// the eos token that closes every assistant turn is the real end of turn.
ChatTemplate deepseek() {
  ChatTemplate t;
  t.name = "deepseek";
  t.system_prompt = kHelpfulAssistant;
  t.bos = "<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>";  // <｜begin▁of▁sentence｜>
  t.system = {"", "\n\n"};
  t.user = {"User: ", "\n\n"};
  t.assistant = {"Assistant: ", "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"};
  // Without the space: generation starts after "Assistant:" and the first
  // token of the answer carries the space.
  t.assistant_header = "Assistant:";
  t.end_of_turn = t.assistant.end;
  return t;
}

// Phi-3 (mini/medium): without a generation prompt the template appends eos.
ChatTemplate phi3() {
  ChatTemplate t;
  t.name = "phi3";
  t.system_prompt = kHelpfulAssistant;
  t.eos = "<|endoftext|>";
  t.system = {"<|system|>\n", "<|end|>\n"};
  t.user = {"<|user|>\n", "<|end|>\n"};
  t.assistant = {"<|assistant|>\n", "<|end|>\n"};
  t.assistant_header = t.assistant.header;
  t.end_of_turn = "<|end|>\n";
  return t;
}

ChatTemplate phi4() {
  ChatTemplate t;
  t.name = "phi4";
  t.system_prompt = kHelpfulAssistant;
  t.system = {"<|im_start|>system<|im_sep|>", "<|im_end|>"};
  t.user = {"<|im_start|>user<|im_sep|>", "<|im_end|>"};
  t.assistant = {"<|im_start|>assistant<|im_sep|>", "<|im_end|>"};
  t.assistant_header = t.assistant.header;
  t.end_of_turn = "<|im_end|>";
  return t;
}

// Gemma 3: no system role (a system message is merged into the first user
// turn), the assistant is "model", contents are trimmed, roles alternate.
// SpecForge has no gemma entry and Gemma no default system prompt.
ChatTemplate gemma() {
  ChatTemplate t;
  t.name = "gemma";
  t.bos = "<bos>";
  t.system = {"", "\n\n"};
  t.user = {"<start_of_turn>user\n", "<end_of_turn>\n"};
  t.assistant = {"<start_of_turn>model\n", "<end_of_turn>\n"};
  t.trim_content = true;
  t.system_style = SystemStyle::Merge;
  t.alternate_roles = true;
  t.assistant_header = t.assistant.header;
  t.end_of_turn = "<end_of_turn>\n";
  return t;
}

const std::vector<ChatTemplate>& builtins() {
  static const std::vector<ChatTemplate> templates = {llama3(), qwen(), qwen3(), deepseek(), phi3(), phi4(), gemma()};
  return templates;
}

}  // namespace

const ChatTemplate& builtin_template(std::string_view name) {
  for (const ChatTemplate& t : builtins()) {
    if (t.name == name) return t;
  }
  fail("unknown chat template '{}': expected one of {}", name, fmt::join(builtin_template_names(), ", "));
}

std::vector<std::string> builtin_template_names() {
  std::vector<std::string> names;
  for (const ChatTemplate& t : builtins()) names.push_back(t.name);
  return names;
}

}  // namespace talon::text
