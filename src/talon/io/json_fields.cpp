#include "talon/io/json_fields.h"

#include <limits>

#include "talon/util/error.h"

namespace talon::io {

JsonFields::JsonFields(const nlohmann::json& object, std::string source, std::string prefix)
    : object_(object), source_(std::move(source)), prefix_(std::move(prefix)) {
  if (!object_.is_object()) {
    std::string what = prefix_.empty() ? "the file" : "field \"" + prefix_.substr(0, prefix_.size() - 1) + "\"";
    fail("{}: {} must be a JSON object, found {}", source_, what, object_.dump());
  }
}

const nlohmann::json* JsonFields::find(const char* key) const {
  auto it = object_.find(key);
  return it == object_.end() || it->is_null() ? nullptr : &*it;
}

void JsonFields::fail_field(const char* key, const std::string& expected) const {
  fail("{}: field \"{}\": expected {}, found {}", source_, path(key), expected, find(key) ? find(key)->dump() : "null");
}

void JsonFields::fail_missing(const char* key) const { fail("{}: missing field \"{}\"", source_, path(key)); }

std::optional<std::int64_t> JsonFields::integer(const char* key, std::int64_t min) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return std::nullopt;
  bool fits = value->is_number_integer() &&
              !(value->is_number_unsigned() &&
                value->get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max()));
  if (!fits || value->get<std::int64_t>() < min) fail_field(key, "an integer >= " + std::to_string(min));
  return value->get<std::int64_t>();
}

std::int64_t JsonFields::required_integer(const char* key, std::int64_t min) const {
  std::optional<std::int64_t> value = integer(key, min);
  if (!value) fail_missing(key);
  return *value;
}

std::optional<double> JsonFields::positive_number(const char* key) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number() || !(value->get<double>() > 0)) fail_field(key, "a positive number");
  return value->get<double>();
}

double JsonFields::required_positive_number(const char* key) const {
  std::optional<double> value = positive_number(key);
  if (!value) fail_missing(key);
  return *value;
}

std::optional<bool> JsonFields::boolean(const char* key) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_boolean()) fail_field(key, "true or false");
  return value->get<bool>();
}

std::optional<std::string> JsonFields::string(const char* key) const {
  const nlohmann::json* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) fail_field(key, "a string");
  return value->get<std::string>();
}

}  // namespace talon::io
