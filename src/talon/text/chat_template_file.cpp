// User-defined templates from JSON. Every field is checked and unknown fields
// are rejected, so a typo ("sytem_prompt") fails instead of being ignored.
#include "talon/text/chat_template.h"

#include "talon/util/error.h"
#include "talon/util/json_fields.h"
#include "talon/util/json_file.h"

namespace talon::text {
namespace {

using util::JsonFields;

TurnFormat parse_turn(const JsonFields& fields, const char* key) {
  JsonFields turn = fields.required_object(key);
  TurnFormat format{turn.required_string("header"), turn.required_string("end")};
  turn.reject_unknown();
  return format;
}

}  // namespace

ChatTemplate load_template_file(const std::string& path) {
  nlohmann::json doc = util::load_json_file(path);
  JsonFields fields(doc, util::JsonLocation(path));
  ChatTemplate t;
  t.name = fields.required_string("name");
  if (t.name.empty()) fail("{} is empty", (fields.where() / "name").str());
  t.system_prompt = fields.string("system_prompt");
  t.bos = fields.string("bos").value_or("");
  t.eos = fields.string("eos").value_or("");
  t.system = parse_turn(fields, "system");
  t.user = parse_turn(fields, "user");
  t.assistant = parse_turn(fields, "assistant");
  t.trim_content = fields.boolean("trim_content").value_or(false);
  t.system_style =
      fields.choice<SystemStyle>("system_style", {{"turn", SystemStyle::Turn}, {"merge", SystemStyle::Merge}})
          .value_or(SystemStyle::Turn);
  t.implicit_system_prompt = fields.string("implicit_system_prompt");
  t.alternate_roles = fields.boolean("alternate_roles").value_or(false);
  t.thinking =
      fields.choice<ThinkingStyle>("thinking", {{"none", ThinkingStyle::None}, {"qwen3", ThinkingStyle::Qwen3}})
          .value_or(ThinkingStyle::None);
  t.assistant_header = fields.string("assistant_header").value_or(t.assistant.header);
  t.end_of_turn = fields.string("end_of_turn").value_or(t.assistant.end);
  fields.reject_unknown();
  // Empty span strings would make the span regex match everywhere or nothing.
  const util::JsonLocation& where = fields.where();
  if (t.assistant_header.empty()) fail("{} (default: assistant.header) is empty", (where / "assistant_header").str());
  if (t.end_of_turn.empty()) fail("{} (default: assistant.end) is empty", (where / "end_of_turn").str());
  return t;
}

}  // namespace talon::text
