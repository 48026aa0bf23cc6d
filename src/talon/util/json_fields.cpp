#include "talon/util/json_fields.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <limits>
#include <set>

#include "talon/util/error.h"

namespace talon::util {
namespace {

using nlohmann::json;

// JSON text that never throws: invalid UTF-8 (possible in a json built in
// code) becomes U+FFFD.
std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

// "<prefix>: <body>", or the body alone where there is nothing to name.
std::string prefixed(const std::string& prefix, std::string_view body) {
  return prefix.empty() ? std::string(body) : prefix + ": " + std::string(body);
}

// Appends `value` as compact JSON (dump()'s text) to `out`, stopping soon
// after `out` passes `limit` bytes: every level writes a bracket before
// going down, so the recursion is at most `limit` deep however deep the
// value, and a huge array or object costs no more than its first bytes.
void append_json_prefix(const json& value, std::size_t limit, std::string& out) {
  if (!value.is_structured()) {
    out += dump(value);
    return;
  }
  const bool object = value.is_object();
  out += object ? '{' : '[';
  bool first = true;
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (out.size() > limit) return;
    if (!first) out += ',';
    first = false;
    if (object) out += dump(it.key()) + ":";
    append_json_prefix(*it, limit, out);
  }
  out += object ? '}' : ']';
}

}  // namespace

JsonLocation::JsonLocation(std::string file, std::string path) : file_(std::move(file)), path_(std::move(path)) {}

JsonLocation JsonLocation::operator/(std::string_view key) const {
  return JsonLocation(file_, path_.empty() ? std::string(key) : path_ + "." + std::string(key));
}

JsonLocation JsonLocation::operator/(std::size_t index) const {
  return JsonLocation(file_, path_ + "[" + std::to_string(index) + "]");
}

std::string JsonLocation::str() const { return path_.empty() ? file_ : prefixed(file_, "field " + dump(path_)); }

void JsonLocation::fail_expected(std::string_view expected, const json& found) const {
  fail("{}", prefixed(str(), fmt::format("expected {}, found {}", expected, json_excerpt(found))));
}

std::string json_excerpt(const json& value) {
  constexpr std::size_t kMaxBytes = 80;
  std::string text;
  append_json_prefix(value, kMaxBytes, text);
  if (text.size() <= kMaxBytes) return text;
  // Cut on a code point boundary so that the message stays valid UTF-8.
  std::size_t cut = kMaxBytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "...";
}

JsonFields::JsonFields(const json& object, JsonLocation where) : object_(object), where_(std::move(where)) {
  if (!object_.is_object()) where_.fail_expected("an object", object_);
}

const json* JsonFields::find(std::string_view key) const {
  asked_.emplace_back(key);
  auto it = object_.find(key);
  return it == object_.end() || it->is_null() ? nullptr : &*it;
}

const json& JsonFields::required(std::string_view key) const {
  const json* value = find(key);
  if (value == nullptr) fail_missing(key);
  return *value;
}

void JsonFields::fail_field(std::string_view key, std::string_view expected) const {
  const json* value = find(key);
  (where_ / key).fail_expected(expected, value ? *value : json());
}

void JsonFields::fail_missing(std::string_view key) const {
  fail("{}", prefixed(where_.file(), "missing field " + dump((where_ / key).path())));
}

std::optional<std::string> JsonFields::string(std::string_view key) const {
  const json* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) fail_field(key, "a string");
  return value->get<std::string>();
}

std::optional<bool> JsonFields::boolean(std::string_view key) const {
  const json* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_boolean()) fail_field(key, "true or false");
  return value->get<bool>();
}

std::optional<std::int64_t> JsonFields::integer(std::string_view key, std::int64_t min, std::int64_t max) const {
  const json* value = find(key);
  if (value == nullptr) return std::nullopt;
  // An unsigned JSON integer above INT64_MAX would wrap in get<int64_t>().
  bool fits = value->is_number_integer() &&
              !(value->is_number_unsigned() &&
                value->get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max()));
  if (!fits || value->get<std::int64_t>() < min) fail_field(key, "an integer >= " + std::to_string(min));
  if (value->get<std::int64_t>() > max) fail_field(key, "at most " + std::to_string(max));
  return value->get<std::int64_t>();
}

std::optional<double> JsonFields::positive_number(std::string_view key) const {
  const json* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number() || !(value->get<double>() > 0)) fail_field(key, "a positive number");
  return value->get<double>();
}

std::optional<JsonFields> JsonFields::object(std::string_view key) const {
  const json* value = find(key);
  if (value == nullptr) return std::nullopt;
  return JsonFields(*value, where_ / key);
}

std::string JsonFields::required_string(std::string_view key) const {
  std::optional<std::string> value = string(key);
  if (!value) fail_missing(key);
  return *std::move(value);
}

std::int64_t JsonFields::required_integer(std::string_view key, std::int64_t min, std::int64_t max) const {
  std::optional<std::int64_t> value = integer(key, min, max);
  if (!value) fail_missing(key);
  return *value;
}

double JsonFields::required_positive_number(std::string_view key) const {
  std::optional<double> value = positive_number(key);
  if (!value) fail_missing(key);
  return *value;
}

JsonFields JsonFields::required_object(std::string_view key) const { return JsonFields(required(key), where_ / key); }

const json& JsonFields::required_array(std::string_view key) const {
  const json& value = required(key);
  if (!value.is_array()) fail_field(key, "an array");
  return value;
}

void JsonFields::reject_unknown() const {
  std::set<std::string> known(asked_.begin(), asked_.end());
  for (const auto& item : object_.items()) {
    if (!known.count(item.key())) {
      std::string field = dump((where_ / item.key()).path());
      fail("{}", prefixed(where_.file(), fmt::format("unknown field {} (known: {})", field, fmt::join(known, ", "))));
    }
  }
}

}  // namespace talon::util
