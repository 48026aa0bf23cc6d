// User-defined templates from JSON. Every field is checked and unknown fields
// are rejected, so a typo ("sytem_prompt") fails instead of being ignored.
#include "talon/text/chat_template.h"

#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include <set>

#include "talon/util/atomic_file.h"
#include "talon/util/error.h"

namespace talon::text {
namespace {

using nlohmann::json;

// Reads the fields of one JSON object, naming the file and the field path in
// every error, and remembers which keys were read to reject the others.
class ObjectReader {
 public:
  ObjectReader(const std::string& file, std::string prefix, const json& object)
      : file_(file), prefix_(std::move(prefix)), object_(object) {
    if (!object_.is_object()) fail("{}: {}expected a JSON object, found {}", file_, where(), object_.type_name());
  }

  std::string string(const std::string& key, const std::optional<std::string>& fallback) {
    const json* value = find(key);
    if (!value) {
      if (!fallback) fail("{}: missing field '{}'", file_, path(key));
      return *fallback;
    }
    if (!value->is_string()) fail("{}: field '{}': expected a string, found {}", file_, path(key), value->type_name());
    return value->get<std::string>();
  }

  std::optional<std::string> nullable_string(const std::string& key) {
    const json* value = find(key);
    if (!value || value->is_null()) return std::nullopt;
    return string(key, std::nullopt);
  }

  bool boolean(const std::string& key) {
    const json* value = find(key);
    if (!value) return false;
    if (!value->is_boolean()) fail("{}: field '{}': expected true or false, found {}", file_, path(key), value->type_name());
    return value->get<bool>();
  }

  // One of `choices` (the first is the default).
  std::size_t choice(const std::string& key, const std::vector<std::string>& choices) {
    std::string value = string(key, choices.front());
    for (std::size_t i = 0; i < choices.size(); ++i) {
      if (choices[i] == value) return i;
    }
    fail("{}: field '{}': expected one of \"{}\", found \"{}\"", file_, path(key), fmt::join(choices, "\", \""), value);
  }

  TurnFormat turn(const std::string& key) {
    const json* value = find(key);
    if (!value) fail("{}: missing field '{}'", file_, path(key));
    ObjectReader reader(file_, path(key), *value);
    TurnFormat format{reader.string("header", std::nullopt), reader.string("end", std::nullopt)};
    reader.reject_unknown();
    return format;
  }

  void reject_unknown() const {
    for (const auto& item : object_.items()) {
      if (!read_.count(item.key())) {
        fail("{}: unknown field '{}' (known: {})", file_, path(item.key()), fmt::join(read_, ", "));
      }
    }
  }

 private:
  const json* find(const std::string& key) {
    read_.insert(key);
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }
  std::string path(const std::string& key) const { return prefix_.empty() ? key : prefix_ + "." + key; }
  std::string where() const { return prefix_.empty() ? "" : "field '" + prefix_ + "': "; }

  const std::string& file_;
  std::string prefix_;
  const json& object_;
  std::set<std::string> read_;
};

}  // namespace

ChatTemplate load_template_file(const std::string& path) {
  json doc;
  try {
    doc = json::parse(util::read_file(path));
  } catch (const json::exception& e) {
    fail("{}: invalid JSON: {}", path, e.what());
  }
  ObjectReader reader(path, "", doc);
  ChatTemplate t;
  t.name = reader.string("name", std::nullopt);
  if (t.name.empty()) fail("{}: field 'name' is empty", path);
  t.system_prompt = reader.nullable_string("system_prompt");
  t.bos = reader.string("bos", "");
  t.eos = reader.string("eos", "");
  t.system = reader.turn("system");
  t.user = reader.turn("user");
  t.assistant = reader.turn("assistant");
  t.trim_content = reader.boolean("trim_content");
  t.system_style = reader.choice("system_style", {"turn", "merge"}) == 0 ? SystemStyle::Turn : SystemStyle::Merge;
  t.implicit_system_prompt = reader.nullable_string("implicit_system_prompt");
  t.alternate_roles = reader.boolean("alternate_roles");
  t.thinking = reader.choice("thinking", {"none", "qwen3"}) == 0 ? ThinkingStyle::None : ThinkingStyle::Qwen3;
  t.assistant_header = reader.string("assistant_header", t.assistant.header);
  t.end_of_turn = reader.string("end_of_turn", t.assistant.end);
  reader.reject_unknown();
  // Empty span strings would make the span regex match everywhere or nothing.
  if (t.assistant_header.empty()) fail("{}: field 'assistant_header' (default: assistant.header) is empty", path);
  if (t.end_of_turn.empty()) fail("{}: field 'end_of_turn' (default: assistant.end) is empty", path);
  return t;
}

}  // namespace talon::text
