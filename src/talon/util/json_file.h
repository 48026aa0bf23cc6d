// JSON parsing for the files Talon validates (config.json, tokenizer.json,
// safetensors headers, chat template files): a key repeated in one object is
// an error, where nlohmann, like Python's json module, would silently keep
// the last value.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace talon::util {

// Throws talon::Error naming `source` on a syntax error or a duplicate key
// (with the keys of its enclosing objects: duplicate key "dtype" in "w").
nlohmann::json parse_json(std::string_view text, const std::string& source);
nlohmann::json load_json_file(const std::string& path);

}  // namespace talon::util
