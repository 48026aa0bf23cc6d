// Which template renders the training text, and markers that are checked
// against what it renders: a registry name whose assistant header does not
// occur in the tokenizer's own rendering would supervise nothing (or the
// wrong bytes) without a word.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <memory>

#include "talon/text/chat_template.h"
#include "talon/util/error.h"

namespace talon::text {
namespace {

// Probe texts no real template contains, so finding them is unambiguous.
constexpr const char* kQuestion = "Talon probe question one";
constexpr const char* kReply = "Talon probe reply one";
constexpr const char* kQuestion2 = "Talon probe question two";
constexpr const char* kReply2 = "Talon probe reply two";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string quoted(const std::string& s) { return nlohmann::json(s).dump(); }

// The assistant header is what the generation prompt adds to a rendering; the
// end of turn is what follows the reply of a conversation ending with it.
void read_markers(ChatTemplate& t) {
  const Conversation ask = {{Role::User, kQuestion, std::nullopt}};
  const std::string plain = t.hf->render(ask, nullptr, false).text;
  const std::string prompt = t.hf->render(ask, nullptr, true).text;
  if (prompt.size() <= plain.size() || prompt.compare(0, plain.size(), plain) != 0) {
    fail("{}: cannot read the assistant header: the rendering with add_generation_prompt does not extend the one "
         "without it ({} and {})",
         t.name, quoted(plain), quoted(prompt));
  }
  t.assistant_header = prompt.substr(plain.size());
  const std::string answered =
      t.hf->render({ask[0], {Role::Assistant, kReply, std::nullopt}}, nullptr, false).text;
  const std::size_t reply = answered.rfind(kReply);
  if (reply == std::string::npos) fail("{}: a reply does not appear in its own rendering {}", t.name, quoted(answered));
  t.end_of_turn = answered.substr(reply + std::string_view(kReply).size());
  if (t.end_of_turn.empty()) {
    fail("{}: cannot read the end of an assistant turn: nothing follows the reply in {}", t.name, quoted(answered));
  }
}

// Two exchanges rendered by the template: the markers must supervise
// exactly each reply through its end of turn.
void check_markers(const ChatTemplate& t, const std::string& rendered_by) {
  const Conversation probe = {{Role::User, kQuestion, std::nullopt},
                              {Role::Assistant, kReply, std::nullopt},
                              {Role::User, kQuestion2, std::nullopt},
                              {Role::Assistant, kReply2, std::nullopt}};
  const std::string text = t.render(probe);
  const auto spans = t.assistant_spans(text);
  bool marks_replies = spans.size() == 2;
  for (std::size_t i = 0; marks_replies && i < 2; ++i) {
    std::string_view span = std::string_view(text).substr(spans[i].first, spans[i].second - spans[i].first);
    std::string_view reply = i == 0 ? kReply : kReply2;
    const std::size_t at = span.find(reply);
    marks_replies = at != std::string_view::npos && ends_with(span, t.end_of_turn) &&
                    at + reply.size() + t.end_of_turn.size() == span.size() &&
                    span.find(i == 0 ? kQuestion : kQuestion2) == std::string_view::npos;
  }
  if (!marks_replies) {
    fail("chat template '{}': its assistant header {} and end of turn {} do not mark the replies in what {} "
         "renders: {}; choose the --chat-template of this model's family, or give the template as a .jinja file",
         t.name, quoted(t.assistant_header), quoted(t.end_of_turn), rendered_by, quoted(text));
  }
}

bool has_suffix(const std::string& path, std::string_view suffix) { return ends_with(path, suffix); }

}  // namespace

ChatTemplate resolve_template(const ChatTemplateSettings& settings, const std::string& tokenizer_dir) {
  const std::string& name = settings.name;
  const auto names = builtin_template_names();
  ChatTemplate t;
  std::optional<HfChatTemplate> jinja;
  if (std::find(names.begin(), names.end(), name) != names.end()) {
    t = builtin_template(name);
    jinja = HfChatTemplate::from_tokenizer_dir(tokenizer_dir);
  } else if (has_suffix(name, ".jinja")) {
    t.name = name;
    jinja = HfChatTemplate::from_file(name, tokenizer_dir);
  } else if (has_suffix(name, ".json") || name.find('/') != std::string::npos) {
    t = load_template_file(name);
  } else {
    fail("unknown chat template '{}': expected one of {} or a path to a .jinja or .json template file", name,
         fmt::join(names, ", "));
  }
  t.supervise_empty_think = settings.supervise_empty_think;
  if (jinja) {
    jinja->set_kwargs(settings.kwargs);
    t.hf = std::make_shared<const HfChatTemplate>(std::move(*jinja));
    if (has_suffix(name, ".jinja")) read_markers(t);
  } else if (!settings.kwargs.empty()) {
    fail("--chat-template-kwargs: chat template '{}' is not a Jinja template (the tokenizer in {} has none), so it "
         "has no variables to set",
         name, tokenizer_dir);
  }
  check_markers(t, t.hf ? t.hf->source_name() : "the template itself");
  return t;
}

}  // namespace talon::text
