#include "talon/io/rope_scaling.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "talon/util/error.h"
#include "talon/util/json_fields.h"

namespace talon::io {

const char* rope_type_name(RopeType type) {
  switch (type) {
    case RopeType::Linear: return "linear";
    case RopeType::Llama3: return "llama3";
  }
  return "?";
}

std::optional<RopeScaling> parse_rope_scaling(const nlohmann::json& value, const std::string& source,
                                              const std::string& field) {
  if (value.is_null()) return std::nullopt;
  util::JsonFields fields(value, util::JsonLocation(source, field));
  const char* type_key = fields.find("rope_type") ? "rope_type" : "type";
  std::optional<std::string> type = fields.string(type_key);
  if (!type) fields.fail_missing("rope_type");
  if (*type == "default") return std::nullopt;

  RopeScaling scaling;
  bool known = false;
  for (RopeType t : {RopeType::Linear, RopeType::Llama3}) {
    if (*type == rope_type_name(t)) {
      scaling.type = t;
      known = true;
    }
  }
  // Others that transformers knows (dynamic, yarn, longrope, ...) would be
  // served with frequencies Talon does not compute: refused here, by name.
  if (!known) fields.fail_field(type_key, "a RoPE type Talon computes: default, linear or llama3");

  scaling.factor = fields.required_positive_number("factor");
  scaling.original_max_position_embeddings = fields.integer("original_max_position_embeddings", 1);
  if (scaling.type == RopeType::Llama3) {
    scaling.low_freq_factor = fields.required_positive_number("low_freq_factor");
    scaling.high_freq_factor = fields.required_positive_number("high_freq_factor");
    if (!scaling.original_max_position_embeddings) fields.fail_missing("original_max_position_embeddings");
    if (scaling.high_freq_factor < scaling.low_freq_factor) {
      fields.fail_field("high_freq_factor", fmt::format("a value >= low_freq_factor {}", scaling.low_freq_factor));
    }
  }
  return scaling;
}

nlohmann::json to_json(const RopeScaling& scaling) {
  nlohmann::json out = {{"rope_type", rope_type_name(scaling.type)}, {"factor", scaling.factor}};
  if (scaling.type == RopeType::Llama3) {
    out["low_freq_factor"] = scaling.low_freq_factor;
    out["high_freq_factor"] = scaling.high_freq_factor;
  }
  if (scaling.original_max_position_embeddings) {
    out["original_max_position_embeddings"] = *scaling.original_max_position_embeddings;
  }
  return out;
}

}  // namespace talon::io
