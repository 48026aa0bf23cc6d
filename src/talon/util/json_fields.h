// Typed reads of the fields of JSON objects (config.json, tokenizer.json,
// chat template files, conversation records) whose errors name the file, the
// field's path and the expected versus the found value:
//   config.json: field "rope_scaling.factor": expected a positive number, found -1
//   tokenizer.json: missing field "added_tokens[3].content"
//   my.json: unknown field "sytem_prompt" (known: bos, eos, name, ...)
// A field set to null counts as absent: Hugging Face writes null for unset
// options.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace talon::util {

// Where a value sits: its file and its path from the root of the file
// ("rope_scaling.factor", "added_tokens[3]").
class JsonLocation {
 public:
  explicit JsonLocation(std::string file, std::string path = "");
  // The root of a value whose file the caller names, as a JSONL reader puts
  // "file:line: " before the message.
  JsonLocation() = default;

  JsonLocation operator/(std::string_view key) const;  // path.key
  JsonLocation operator/(std::size_t index) const;     // path[index]

  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }
  // How messages name the value: `file: field "path"`, or the file alone at
  // the root.
  std::string str() const;

  // Throws `<str()>: expected <expected>, found <json_excerpt(found)>`.
  [[noreturn]] void fail_expected(std::string_view expected, const nlohmann::json& found) const;

 private:
  std::string file_, path_;
};

// `value` as compact JSON for a message, cut to about 80 bytes: a corrupt
// file can hold megabytes in one field.
std::string json_excerpt(const nlohmann::json& value);

// Reads the fields of one JSON object. A read named after a type returns
// nullopt when the field is absent; its required_ twin throws
// `missing field` instead. Both throw when the field holds another type.
class JsonFields {
 public:
  // Throws unless `object` is a JSON object; keeps a reference to it.
  JsonFields(const nlohmann::json& object, JsonLocation where);

  const nlohmann::json& value() const { return object_; }
  const JsonLocation& where() const { return where_; }

  const nlohmann::json* find(std::string_view key) const;  // nullptr when absent
  const nlohmann::json& required(std::string_view key) const;

  std::optional<std::string> string(std::string_view key) const;
  std::optional<bool> boolean(std::string_view key) const;
  // An integer in [min, max]; the error says which bound it broke.
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min,
                                      std::int64_t max = std::numeric_limits<std::int64_t>::max()) const;
  std::optional<double> positive_number(std::string_view key) const;
  std::optional<JsonFields> object(std::string_view key) const;
  // The value paired with the field's string, one of the names in `choices`:
  //   fields.choice<Style>("style", {{"turn", Style::Turn}, {"merge", Style::Merge}})
  template <typename T>
  std::optional<T> choice(std::string_view key, std::initializer_list<std::pair<std::string_view, T>> choices) const;

  std::string required_string(std::string_view key) const;
  std::int64_t required_integer(std::string_view key, std::int64_t min,
                                std::int64_t max = std::numeric_limits<std::int64_t>::max()) const;
  double required_positive_number(std::string_view key) const;
  JsonFields required_object(std::string_view key) const;
  const nlohmann::json& required_array(std::string_view key) const;

  // Throws on a field that no read has asked for, listing the ones asked
  // for, so that a misspelt optional field fails instead of being ignored.
  void reject_unknown() const;

  // For checks beyond the type: `field "path.key": expected <expected>,
  // found <the field's value>`.
  [[noreturn]] void fail_field(std::string_view key, std::string_view expected) const;
  [[noreturn]] void fail_missing(std::string_view key) const;

 private:
  const nlohmann::json& object_;
  JsonLocation where_;
  mutable std::vector<std::string> asked_;  // every key read, for reject_unknown
};

template <typename T>
std::optional<T> JsonFields::choice(std::string_view key,
                                    std::initializer_list<std::pair<std::string_view, T>> choices) const {
  std::optional<std::string> name = string(key);
  if (!name) return std::nullopt;
  std::string expected;
  for (const auto& [choice_name, value] : choices) {
    if (choice_name == *name) return value;
    expected.append(expected.empty() ? "one of \"" : ", \"").append(choice_name).append("\"");
  }
  fail_field(key, expected);
}

}  // namespace talon::util
