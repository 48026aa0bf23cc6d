#include "talon/io/rope_scaling.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "talon/util/error.h"
#include "talon/util/json_fields.h"

namespace talon::io {

const char* rope_type_name(RopeType type) {
  switch (type) {
    case RopeType::Linear: return "linear";
    case RopeType::Dynamic: return "dynamic";
    case RopeType::Llama3: return "llama3";
    case RopeType::Yarn: return "yarn";
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
  for (RopeType t : {RopeType::Linear, RopeType::Dynamic, RopeType::Llama3, RopeType::Yarn}) {
    if (*type == rope_type_name(t)) {
      scaling.type = t;
      known = true;
    }
  }
  if (!known) fields.fail_field(type_key, "a RoPE scaling type: default, linear, dynamic, llama3 or yarn");

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
  if (scaling.type == RopeType::Yarn) {
    scaling.beta_fast = fields.positive_number("beta_fast");
    scaling.beta_slow = fields.positive_number("beta_slow");
    scaling.mscale = fields.positive_number("mscale");
    scaling.mscale_all_dim = fields.positive_number("mscale_all_dim");
    scaling.attention_factor = fields.positive_number("attention_factor");
  }
  return scaling;
}

nlohmann::json to_json(const RopeScaling& scaling) {
  nlohmann::json out = {{"rope_type", rope_type_name(scaling.type)}, {"factor", scaling.factor}};
  if (scaling.type == RopeType::Llama3) {
    out["low_freq_factor"] = scaling.low_freq_factor;
    out["high_freq_factor"] = scaling.high_freq_factor;
  }
  auto put = [&](const char* key, const auto& optional) {
    if (optional) out[key] = *optional;
  };
  put("original_max_position_embeddings", scaling.original_max_position_embeddings);
  put("beta_fast", scaling.beta_fast);
  put("beta_slow", scaling.beta_slow);
  put("mscale", scaling.mscale);
  put("mscale_all_dim", scaling.mscale_all_dim);
  put("attention_factor", scaling.attention_factor);
  return out;
}

std::vector<double> rope_inv_freq(std::int64_t head_dim, double theta) {
  if (head_dim <= 0 || head_dim % 2 != 0) fail("RoPE needs a positive even head_dim, found {}", head_dim);
  if (!(theta > 0)) fail("RoPE needs a positive rope_theta, found {}", theta);
  std::vector<double> inv_freq(static_cast<std::size_t>(head_dim / 2));
  for (std::size_t i = 0; i < inv_freq.size(); ++i) {
    inv_freq[i] = 1.0 / std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(head_dim));
  }
  return inv_freq;
}

std::vector<double> llama3_inv_freq(std::int64_t head_dim, double theta, const RopeScaling& scaling) {
  if (scaling.type != RopeType::Llama3 || !scaling.original_max_position_embeddings) {
    fail("llama3_inv_freq: rope_scaling of type {} (expected llama3 with original_max_position_embeddings)",
         rope_type_name(scaling.type));
  }
  const double original_max = static_cast<double>(*scaling.original_max_position_embeddings);
  const double low_freq_wavelen = original_max / scaling.low_freq_factor;
  const double high_freq_wavelen = original_max / scaling.high_freq_factor;
  std::vector<double> inv_freq = rope_inv_freq(head_dim, theta);
  for (double& f : inv_freq) {
    double wavelen = 2 * M_PI / f;
    if (wavelen < high_freq_wavelen) continue;  // high frequencies: unchanged
    if (wavelen > low_freq_wavelen) {
      f /= scaling.factor;  // low frequencies: interpolated
    } else {
      // With equal factors only wavelen == original_max / factor lands here;
      // SpecForge takes smooth = 0 rather than dividing by zero.
      double smooth = scaling.high_freq_factor == scaling.low_freq_factor
                          ? 0.0
                          : (original_max / wavelen - scaling.low_freq_factor) /
                                (scaling.high_freq_factor - scaling.low_freq_factor);
      f = (1 - smooth) * f / scaling.factor + smooth * f;
    }
  }
  return inv_freq;
}

}  // namespace talon::io
