// Typed reads of the fields of a JSON object loaded from a file. A null value
// counts as absent (HF writes null for unset options). Every error names the
// file and the field, with its parent path ("rope_scaling.factor").
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace talon::io {

class JsonFields {
 public:
  // Throws unless `object` is a JSON object.
  JsonFields(const nlohmann::json& object, std::string source, std::string prefix = "");

  const nlohmann::json* find(const char* key) const;  // nullptr when absent or null
  std::optional<std::int64_t> integer(const char* key, std::int64_t min) const;
  std::int64_t required_integer(const char* key, std::int64_t min) const;
  std::optional<double> positive_number(const char* key) const;
  double required_positive_number(const char* key) const;
  std::optional<bool> boolean(const char* key) const;
  std::optional<std::string> string(const char* key) const;

  std::string path(const char* key) const { return prefix_ + key; }
  const std::string& source() const { return source_; }
  [[noreturn]] void fail_field(const char* key, const std::string& expected) const;  // "expected X, found <value>"
  [[noreturn]] void fail_missing(const char* key) const;

 private:
  const nlohmann::json& object_;
  std::string source_, prefix_;
};

}  // namespace talon::io
