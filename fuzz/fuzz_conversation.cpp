// Arbitrary bytes -> JSON (util::parse_json, as prepare reads a line) ->
// parse_conversation -> render with every built-in template ->
// assistant_spans, plus assistant_spans on the raw bytes. talon::Error is
// expected; a crash (deep nesting was one), a sanitizer report or a span
// that breaks its contract is a bug.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "talon/text/chat_template.h"
#include "talon/text/conversation.h"
#include "talon/util/error.h"
#include "talon/util/json_file.h"

namespace {

using talon::text::ChatTemplate;

// Spans are increasing, inside the text, and each starts right after the
// assistant header.
void check_spans(const ChatTemplate& t, std::string_view text) {
  std::size_t previous_end = 0;
  for (const auto& [begin, end] : t.assistant_spans(text)) {
    const std::size_t h = t.assistant_header.size();
    bool ok = begin >= previous_end + h && begin <= end && end <= text.size() &&
              text.substr(begin - h, h) == t.assistant_header;
    if (!ok) __builtin_trap();
    previous_end = end;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  talon::text::Conversation conversation;
  try {
    conversation = talon::text::parse_conversation(talon::util::parse_json(bytes, ""));
  } catch (const talon::Error&) {
  }
  for (const std::string& name : talon::text::builtin_template_names()) {
    const ChatTemplate& t = talon::text::builtin_template(name);
    check_spans(t, bytes);
    try {
      check_spans(t, t.render(talon::text::with_system_prompt(conversation, t, std::nullopt)));
    } catch (const talon::Error&) {
      // Gemma rejects conversations whose roles do not alternate.
    }
  }
  return 0;
}
