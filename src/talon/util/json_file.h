// JSON parsing for everything Talon reads (config.json, tokenizer.json,
// safetensors headers, chat template files, data lines, server replies):
// a key repeated in one object is an error, where nlohmann, like Python's
// json module, would silently keep the last value; and nesting is bounded,
// since printing, copying or comparing a value recurses once per level and a
// 200 KB line of `[[[[...` would overflow the stack.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace talon::util {

// The deepest nesting accepted: arrays and objects inside one another. Real
// files stay under 10 levels; Python's json module gives up near 1000.
inline constexpr int kMaxJsonDepth = 512;

// Throws talon::Error on a syntax error, on nesting deeper than
// kMaxJsonDepth, or on a duplicate key (with the keys of its enclosing
// objects: duplicate key "dtype" in "w"). Messages start with `source: `,
// or with nothing when `source` is empty (a JSONL reader that puts its own
// "file:line: " before them).
nlohmann::json parse_json(std::string_view text, const std::string& source);
// The same, keeping the keys in their order (a record rewritten as it came).
nlohmann::ordered_json parse_ordered_json(std::string_view text, const std::string& source);
nlohmann::json load_json_file(const std::string& path);

}  // namespace talon::util
