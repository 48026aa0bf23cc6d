#include "talon/text/chat_template.h"

#include <algorithm>

#include "talon/text/python_strip.h"
#include "talon/util/error.h"

namespace talon::text {
namespace {

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Python's str.lstrip('\n'), rstrip('\n') and strip('\n').
std::string_view lstrip_newlines(std::string_view s) {
  std::size_t i = s.find_first_not_of('\n');
  return i == std::string_view::npos ? std::string_view() : s.substr(i);
}
std::string_view rstrip_newlines(std::string_view s) {
  std::size_t i = s.find_last_not_of('\n');
  return i == std::string_view::npos ? std::string_view() : s.substr(0, i + 1);
}
std::string_view strip_newlines(std::string_view s) { return rstrip_newlines(lstrip_newlines(s)); }

// Qwen3's last_query_index: the last user message that is not a tool
// response wrapped in <tool_response> tags; the last index when none.
std::size_t last_query_index(const Conversation& messages, std::size_t first) {
  for (std::size_t i = messages.size(); i-- > first;) {
    const std::string& c = messages[i].content;
    if (messages[i].role == Role::User && !(starts_with(c, "<tool_response>") && ends_with(c, "</tool_response>"))) {
      return i;
    }
  }
  return messages.size() - 1;
}

// An assistant turn's content under Qwen3's template. The reasoning is the
// message's reasoning_content when set, else it is cut out of the content:
// the answer is the text after the last </think>, the reasoning the text
// between the last <think> and the first </think>. Assistant turns after the
// last user query get a <think> block (empty when there is no reasoning) if
// they are the final message or have reasoning; earlier turns lose theirs.
void append_qwen3_assistant(std::string& out, std::string_view content, const Message& message,
                            bool after_last_query, bool is_last) {
  std::string_view reasoning;
  if (message.reasoning_content) {
    reasoning = *message.reasoning_content;
  } else if (content.find(kThinkClose) != std::string_view::npos) {
    std::string_view before = rstrip_newlines(content.substr(0, content.find(kThinkClose)));
    std::size_t open = before.rfind(kThinkOpen);
    reasoning = lstrip_newlines(open == std::string_view::npos ? before : before.substr(open + kThinkOpen.size()));
    content = lstrip_newlines(content.substr(content.rfind(kThinkClose) + kThinkClose.size()));
  }
  if (after_last_query && (is_last || !reasoning.empty())) {
    out += "<think>\n";
    out += strip_newlines(reasoning);
    out += "\n</think>\n\n";
    out += lstrip_newlines(content);
  } else {
    out += content;
  }
}

// Python's str.isspace() on ASCII.
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Where supervision starts when the span opens with an empty think block:
// after "<think>", whitespace, "</think>" and the newlines after it (the
// answer itself may start with spaces).
std::size_t after_empty_think(std::string_view text, std::size_t begin, std::size_t end) {
  std::size_t i = begin;
  if (text.compare(i, kThinkOpen.size(), kThinkOpen) != 0) return begin;
  i += kThinkOpen.size();
  while (i < end && is_space(text[i])) ++i;
  if (text.compare(i, kThinkClose.size(), kThinkClose) != 0) return begin;
  i += kThinkClose.size();
  while (i < end && text[i] == '\n') ++i;
  return std::min(i, end);
}

}  // namespace

std::string ChatTemplate::render(const Conversation& conversation, const nlohmann::ordered_json* tools) const {
  if (hf) return conversation.empty() ? std::string() : hf->render(conversation, tools, false).text;
  if (tools != nullptr || uses_tools(conversation)) {
    fail("chat template {} (built in) renders text turns only, and this conversation has tools or tool calls: "
         "render it with the model's own template (the tokenizer's chat_template) or --chat-template FILE.jinja",
         name);
  }
  if (conversation.empty()) return {};
  const Conversation* messages = &conversation;
  Conversation with_implicit;
  if (implicit_system_prompt && conversation.front().role != Role::System) {
    with_implicit.reserve(conversation.size() + 1);
    with_implicit.push_back({Role::System, *implicit_system_prompt, std::nullopt});
    with_implicit.insert(with_implicit.end(), conversation.begin(), conversation.end());
    messages = &with_implicit;
  }

  std::string out = bos;
  std::size_t first = 0;  // the first message rendered as a turn
  std::string merged_system;
  if (system_style == SystemStyle::Merge && messages->front().role == Role::System) {
    merged_system = system.header + messages->front().content + system.end;
    first = 1;
  }
  std::size_t last_query = thinking == ThinkingStyle::Qwen3 ? last_query_index(*messages, first) : 0;

  for (std::size_t i = first; i < messages->size(); ++i) {
    const Message& m = (*messages)[i];
    std::size_t turn = i - first;
    if (alternate_roles && (m.role == Role::User) != (turn % 2 == 0)) {
      fail("chat template {}: roles must alternate user/assistant starting with user; message {} is {}", name, i,
           role_name(m.role));
    }
    if (m.role == Role::System && system_style == SystemStyle::Merge) {
      fail("chat template {}: has no system role; only a first system message is supported (message {})", name, i);
    }
    const TurnFormat& format = m.role == Role::System ? system : m.role == Role::User ? user : assistant;
    out += format.header;
    if (turn == 0) out += merged_system;
    std::string_view content = trim_content ? python_strip(m.content) : std::string_view(m.content);
    if (m.role == Role::Assistant && thinking == ThinkingStyle::Qwen3) {
      append_qwen3_assistant(out, content, m, i > last_query, i + 1 == messages->size());
    } else {
      out += content;
    }
    out += format.end;
  }
  out += eos;
  return out;
}

std::vector<std::pair<std::size_t, std::size_t>> ChatTemplate::assistant_spans(std::string_view text) const {
  if (assistant_header.empty()) fail("chat template {}: assistant_header is empty", name);
  // Python's `$` (no MULTILINE) matches at the end and before a final "\n";
  // the lazy group stops at the first position where end_of_turn or `$`
  // matches, trying end_of_turn first.
  std::size_t dollar_near_end = !text.empty() && text.back() == '\n' ? text.size() - 1 : text.size();
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  std::size_t pos = 0;
  while (true) {
    std::size_t header = text.find(assistant_header, pos);
    if (header == std::string_view::npos) break;
    std::size_t begin = header + assistant_header.size();
    std::size_t dollar = begin <= dollar_near_end ? dollar_near_end : text.size();
    std::size_t eot = text.find(end_of_turn, begin);
    std::size_t end = eot != std::string_view::npos && eot <= dollar ? eot + end_of_turn.size() : dollar;
    spans.emplace_back(begin, end);
    pos = end;
  }
  return spans;
}

std::string ChatTemplate::render_generation_prompt(const Conversation& conversation,
                                                  const nlohmann::ordered_json* tools) const {
  if (hf) return hf->render(conversation, tools, true).text;
  return render(conversation, tools) + assistant.header;
}

SupervisedText ChatTemplate::render_supervised(const Conversation& conversation,
                                               const nlohmann::ordered_json* tools) const {
  SupervisedText out;
  if (hf && hf->has_generation_blocks() && !conversation.empty()) {
    jinja::Rendered rendered = hf->render(conversation, tools, false);
    out.text = std::move(rendered.text);
    out.spans = std::move(rendered.generation_spans);
  } else {
    out.text = render(conversation, tools);
    out.spans = assistant_spans(out.text);
  }
  if (!supervise_empty_think) {
    for (Span& span : out.spans) span.first = after_empty_think(out.text, span.first, span.second);
  }
  return out;
}

Conversation with_system_prompt(Conversation conversation, const ChatTemplate& tmpl,
                                const std::optional<std::string>& override) {
  if (!conversation.empty() && conversation.front().role == Role::System) return conversation;
  const std::optional<std::string>& prompt = override ? override : tmpl.system_prompt;
  if (prompt && !prompt->empty()) {
    conversation.insert(conversation.begin(), Message{Role::System, *prompt, std::nullopt});
  }
  return conversation;
}

}  // namespace talon::text
