// JSON reading for the files Talon validates (safetensors headers, indexes,
// config.json): a duplicate key is an error, where nlohmann, like Python's
// json module, would silently keep the last value.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace talon::io {

// Throws talon::Error naming `source` on a syntax error or a duplicate key.
nlohmann::json parse_json(std::string_view text, const std::string& source);
nlohmann::json load_json_file(const std::string& path);

}  // namespace talon::io
