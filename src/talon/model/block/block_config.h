// The config of the block drafters' shared backbone (design
// dflash-dspark.md §1): a Qwen3 decoder config plus the block fields. Each
// method (dflash/, dspark/) reads and writes the block fields where its
// engines look for them; the Qwen3 part is read and written here.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "talon/io/rope_scaling.h"
#include "talon/util/json_fields.h"

namespace talon::model {

// The draft's config.json fields that the backbone computes with. The
// method's config (dflash/, dspark/) reads and writes them where its
// engines look for them.
struct BlockDraftConfig {
  std::int64_t hidden_size = 0;  // the target's: the draft reads its embedding and lm_head
  std::int64_t intermediate_size = 0;
  std::int64_t num_hidden_layers = 0;
  std::int64_t num_attention_heads = 0;
  std::int64_t num_key_value_heads = 0;
  std::int64_t head_dim = 0;
  std::int64_t vocab_size = 0;  // the target's
  std::int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 1e6;
  std::optional<io::RopeScaling> rope_scaling;
  std::vector<bool> sliding;        // per layer: layer_types[i] == "sliding_attention"
  std::int64_t sliding_window = 0;  // W of the sliding layers
  std::int64_t block_size = 16;     // query rows per block
  std::vector<int> target_layer_ids;     // 0-based outputs of target layers, fc's input order
  std::int64_t num_target_layers = 0;
  std::int64_t mask_token_id = 0;        // the token of the block's unknown slots
  std::int64_t num_anchors = 512;        // blocks drawn per sample in training

  std::int64_t window_of(std::size_t layer) const { return sliding[layer] ? sliding_window : 0; }
};

// The checks the engines' loaders make (SGLang's parse_dflash_draft_config,
// design §2.5) and the limits of what Talon computes, as one talon::Error
// naming `source` and the field: layer counts and types, head sizes, the
// target layers within the target, a mask token within the vocabulary.
void check_block_draft_config(const BlockDraftConfig& config, const std::string& source);

// Reads the Qwen3 decoder fields of a block draft's config.json into
// `config` (the block fields are the method's): sizes, norm epsilon, RoPE,
// layer_types and sliding_window. Fields Talon does not compute (a bias,
// another activation, tied embeddings) are refused by name.
void parse_block_backbone(const util::JsonFields& fields, BlockDraftConfig& config);

// Those fields as the engines read them, with model_type "qwen3", dtype
// bfloat16 (the saved weights) and tie_word_embeddings false.
nlohmann::json block_backbone_json(const BlockDraftConfig& config);

// The target layers a draft of `draft_layers` layers reads when its config
// names none (design §1.3): [L_t / 2] for one layer, else draft_layers ids
// spread over [1, L_t - 3] as round(1 + i (L_t - 4) / (L_d - 1)), rounding
// halves to even as Python's round does.
std::vector<int> default_target_layer_ids(std::int64_t target_layers, std::int64_t draft_layers);

}  // namespace talon::model
