#include "talon/text/json_fields.h"

#include "talon/util/error.h"

namespace talon::text::json_fields {

Where Where::operator/(std::string_view key) const {
  return {file, path.empty() ? std::string(key) : path + "." + std::string(key)};
}

Where Where::operator/(std::size_t index) const { return {file, path + "[" + std::to_string(index) + "]"}; }

std::string describe(const Json& value) {
  constexpr std::size_t kMaxShown = 80;
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::string: {
      const auto& s = value.get_ref<const std::string&>();
      if (s.size() <= kMaxShown) return "the string " + value.dump();
      // Cut on a code point boundary so the message stays valid UTF-8.
      std::size_t cut = kMaxShown;
      while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
      return "the string " + Json(s.substr(0, cut)).dump() + " (" + std::to_string(s.size()) + " bytes)";
    }
    case Json::value_t::boolean:
      return value.get<bool>() ? "true" : "false";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return "the number " + value.dump();
    default:
      return "an unexpected JSON value";
  }
}

void type_error(const Where& where, std::string_view expected, const Json& found) {
  fail("{}: expected {}, found {}", where.str(), expected, describe(found));
}

const Json* optional(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

const Json& required(const Json& object, std::string_view key, const Where& where) {
  if (!object.is_object()) type_error(where, "an object", object);
  const Json* value = optional(object, key);
  if (!value) fail("{}: missing field \"{}\"", where.str(), key);
  return *value;
}

const Json& object(const Json& object, std::string_view key, const Where& where) {
  const Json& value = required(object, key, where);
  if (!value.is_object()) type_error(where / key, "an object", value);
  return value;
}

const Json& array(const Json& object, std::string_view key, const Where& where) {
  const Json& value = required(object, key, where);
  if (!value.is_array()) type_error(where / key, "an array", value);
  return value;
}

const std::string& string(const Json& object, std::string_view key, const Where& where) {
  const Json& value = required(object, key, where);
  if (!value.is_string()) type_error(where / key, "a string", value);
  return value.get_ref<const std::string&>();
}

bool boolean(const Json& object, std::string_view key, bool fallback, const Where& where) {
  if (!object.is_object()) type_error(where, "an object", object);
  const Json* value = optional(object, key);
  if (!value) return fallback;
  if (!value->is_boolean()) type_error(where / key, "a boolean", *value);
  return value->get<bool>();
}

}  // namespace talon::text::json_fields
