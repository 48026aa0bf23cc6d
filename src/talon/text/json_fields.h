// Typed access to tokenizer.json / tokenizer_config.json fields. Every
// failure throws talon::Error naming the file, the JSON path and what was
// expected versus found, e.g.
//   ".../tokenizer.json: model.ignore_merges: expected a boolean, found the string \"yes\""
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace talon::text::json_fields {

using Json = nlohmann::json;

// A position in a JSON file, for error messages.
struct Where {
  std::string file;
  std::string path;  // empty at the root

  Where operator/(std::string_view key) const;
  Where operator/(std::size_t index) const;
  std::string str() const { return path.empty() ? file : file + ": " + path; }
};

// "a string", "an object", ... for messages.
std::string describe(const Json& value);

[[noreturn]] void type_error(const Where& where, std::string_view expected, const Json& found);

// The field, or nullptr when it is missing or null.
const Json* optional(const Json& object, std::string_view key);
// Throws when `object` is not an object or the field is missing or null.
const Json& required(const Json& object, std::string_view key, const Where& where);

const Json& object(const Json& object, std::string_view key, const Where& where);
const Json& array(const Json& object, std::string_view key, const Where& where);
const std::string& string(const Json& object, std::string_view key, const Where& where);
bool boolean(const Json& object, std::string_view key, bool fallback, const Where& where);

}  // namespace talon::text::json_fields
