#include "talon/model/block/block_config.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "talon/io/config_fields.h"
#include "talon/io/hf_config.h"
#include "talon/util/error.h"

namespace talon::model {

using nlohmann::json;

void check_block_draft_config(const BlockDraftConfig& c, const std::string& source) {
  auto positive = [&](const char* field, std::int64_t value) {
    if (value <= 0) fail("{}: {} must be positive, found {}", source, field, value);
  };
  positive("hidden_size", c.hidden_size);
  positive("intermediate_size", c.intermediate_size);
  positive("num_hidden_layers", c.num_hidden_layers);
  positive("num_attention_heads", c.num_attention_heads);
  positive("num_key_value_heads", c.num_key_value_heads);
  positive("head_dim", c.head_dim);
  positive("vocab_size", c.vocab_size);
  positive("num_target_layers", c.num_target_layers);
  positive("num_anchors", c.num_anchors);
  if (c.block_size < 2) fail("{}: block_size must be at least 2 (an anchor and a draft), found {}", source, c.block_size);
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    fail("{}: num_key_value_heads {} must divide num_attention_heads {}", source, c.num_key_value_heads,
         c.num_attention_heads);
  }
  if (c.head_dim % 2 != 0) fail("{}: head_dim must be even for RoPE, found {}", source, c.head_dim);
  if (static_cast<std::int64_t>(c.sliding.size()) != c.num_hidden_layers) {
    fail("{}: layer_types has {} entries, expected one per layer ({})", source, c.sliding.size(), c.num_hidden_layers);
  }
  const bool any_sliding = std::find(c.sliding.begin(), c.sliding.end(), true) != c.sliding.end();
  if (any_sliding && c.sliding_window < c.block_size) {
    fail("{}: sliding layers need sliding_window >= block_size ({}), found {}", source, c.block_size,
         c.sliding_window);
  }
  if (c.target_layer_ids.empty()) fail("{}: target_layer_ids is empty", source);
  for (int id : c.target_layer_ids) {
    // The last layer's output is the final-normed state, not a residual-stream feature (design §1.3).
    if (id < 0 || id >= c.num_target_layers - 1) {
      fail("{}: target layer id {} is outside [0, {}) (num_target_layers {}, the last layer excluded)", source, id,
           c.num_target_layers - 1, c.num_target_layers);
    }
  }
  if (c.mask_token_id < 0 || c.mask_token_id >= c.vocab_size) {
    fail("{}: mask_token_id {} is outside the vocabulary [0, {})", source, c.mask_token_id, c.vocab_size);
  }
}

void parse_block_backbone(const util::JsonFields& fields, BlockDraftConfig& c) {
  io::check_silu(fields);
  io::parse_torch_dtype(fields);  // checked only: checkpoints are always BF16
  if (fields.boolean("tie_word_embeddings").value_or(false)) {
    fields.fail_field("tie_word_embeddings", "false (the draft reads the target's embedding and lm_head)");
  }
  for (const char* key : {"attention_bias", "mlp_bias"}) {
    if (fields.boolean(key).value_or(false)) fields.fail_field(key, "false (Talon computes the block drafts without it)");
  }
  c.hidden_size = fields.required_integer("hidden_size", 1, io::kMaxHiddenSize);
  c.intermediate_size = fields.required_integer("intermediate_size", 1, io::kMaxIntermediateSize);
  c.num_hidden_layers = fields.required_integer("num_hidden_layers", 1, io::kMaxLayers);
  c.vocab_size = fields.required_integer("vocab_size", 1, io::kMaxVocabSize);
  const io::Attention attention = io::parse_attention(fields, c.hidden_size);
  c.num_attention_heads = attention.heads;
  c.num_key_value_heads = attention.kv_heads;
  c.head_dim = attention.head_dim;
  c.max_position_embeddings = fields.integer("max_position_embeddings", 1).value_or(40960);
  c.rms_norm_eps = fields.positive_number("rms_norm_eps").value_or(1e-6);
  const io::Rope rope = io::parse_rope(fields);
  c.rope_theta = rope.theta;
  c.rope_scaling = rope.scaling;

  c.sliding.assign(static_cast<std::size_t>(c.num_hidden_layers), false);
  const bool use_sliding_window = fields.boolean("use_sliding_window").value_or(false);
  if (const json* types = fields.find("layer_types")) {
    if (!types->is_array() || static_cast<std::int64_t>(types->size()) != c.num_hidden_layers) {
      fields.fail_field("layer_types", fmt::format("a list of {} layer types, one per layer", c.num_hidden_layers));
    }
    for (std::size_t i = 0; i < types->size(); ++i) {
      const json& type = (*types)[i];
      if (type != "full_attention" && type != "sliding_attention") {
        fields.fail_field("layer_types", "\"full_attention\" or \"sliding_attention\" for every layer");
      }
      c.sliding[i] = type == "sliding_attention";
    }
  } else if (use_sliding_window) {
    // Qwen3Config then derives the types from max_window_layers; the engines
    // read layer_types: refused rather than guessed.
    fields.fail_missing("layer_types");
  }
  if (std::find(c.sliding.begin(), c.sliding.end(), true) != c.sliding.end()) {
    c.sliding_window = fields.required_integer("sliding_window", 1);
  } else {
    fields.find("sliding_window");  // read, unused: every layer attends to all its context
  }
}

json block_backbone_json(const BlockDraftConfig& c) {
  json types = json::array();
  for (bool sliding : c.sliding) types.push_back(sliding ? "sliding_attention" : "full_attention");
  const bool any_sliding = std::find(c.sliding.begin(), c.sliding.end(), true) != c.sliding.end();
  return {
      {"model_type", "qwen3"},
      {"hidden_size", c.hidden_size},
      {"intermediate_size", c.intermediate_size},
      {"num_hidden_layers", c.num_hidden_layers},
      {"num_attention_heads", c.num_attention_heads},
      {"num_key_value_heads", c.num_key_value_heads},
      {"head_dim", c.head_dim},
      {"vocab_size", c.vocab_size},
      {"max_position_embeddings", c.max_position_embeddings},
      {"rms_norm_eps", c.rms_norm_eps},
      {"rope_theta", c.rope_theta},
      {"rope_scaling", c.rope_scaling ? io::to_json(*c.rope_scaling) : json(nullptr)},
      {"hidden_act", "silu"},
      {"attention_bias", false},
      {"tie_word_embeddings", false},
      {"layer_types", types},
      {"use_sliding_window", any_sliding},
      {"sliding_window", any_sliding ? json(c.sliding_window) : json(nullptr)},
      {"dtype", "bfloat16"},
      {"torch_dtype", "bfloat16"},
  };
}

std::vector<int> default_target_layer_ids(std::int64_t target_layers, std::int64_t draft_layers) {
  if (draft_layers == 1) return {static_cast<int>(target_layers / 2)};
  std::vector<int> ids;
  for (std::int64_t i = 0; i < draft_layers; ++i) {
    const double spread = 1.0 + static_cast<double>(i * (target_layers - 4)) / static_cast<double>(draft_layers - 1);
    ids.push_back(static_cast<int>(std::nearbyint(spread)));  // the default rounding mode: halves to even
  }
  return ids;
}

}  // namespace talon::model
