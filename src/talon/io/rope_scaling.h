// RoPE scaling as Hugging Face config.json files describe it ("rope_scaling",
// or transformers 5's "rope_parameters"), limited to the types
// model/layers.h computes: a config of any other type (dynamic, yarn,
// longrope, ...) is refused when it is parsed, before anything runs.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace talon::io {

enum class RopeType { Linear, Llama3 };

// Fields that HF requires for a type are plain; optional ones are optional
// and absent from to_json when unset, so a config round-trips unchanged.
struct RopeScaling {
  RopeType type = RopeType::Linear;
  double factor = 1.0;
  double low_freq_factor = 0.0;                                  // llama3
  double high_freq_factor = 0.0;                                 // llama3
  std::optional<std::int64_t> original_max_position_embeddings;  // required by llama3
};

// `value` is the object of config field `field` (either "rope_type" or the
// older "type" key names the type; "rope_type" wins as in HF). null, or type
// "default", means no scaling. A type Talon does not compute, and missing or
// ill-typed fields, throw talon::Error naming `source`, the field and the
// supported types.
std::optional<RopeScaling> parse_rope_scaling(const nlohmann::json& value, const std::string& source,
                                              const std::string& field = "rope_scaling");
nlohmann::json to_json(const RopeScaling& scaling);  // with "rope_type"
const char* rope_type_name(RopeType type);

}  // namespace talon::io
