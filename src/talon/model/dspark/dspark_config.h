// DSpark's config.json in the form DeepSpec writes and SGLang
// (Qwen3DSparkModel) and vLLM load (design dflash-dspark.md §3.5): a Qwen3
// config plus, at the top level, block_size, target_layer_ids,
// mask_token_id, num_target_layers, num_anchors, markov_rank,
// markov_head_type, enable_confidence_head, confidence_head_with_markov.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>

#include "talon/model/block/block_config.h"
#include "talon/model/dspark/markov_head.h"

namespace talon::model {

struct DSparkConfig {
  BlockDraftConfig backbone;  // block_size is gamma, the drafts per round
  MarkovConfig markov;
};

// Reads the top-level fields, or SGLang's prefixed bundle keys
// (dspark_block_size, dspark_markov_rank, dspark_noise_token_id,
// dspark_target_layer_ids). Refused by name: SpecForge's training form
// (DSparkDraftModel, Markov fields inside dflash_config), which SGLang does
// not read, and speculators' DSpark (another slot convention, design §7 #1).
// mask_token_id may be absent (< 0) until training resolves it.
DSparkConfig parse_dspark_config(const nlohmann::json& config, const std::string& source);
DSparkConfig load_dspark_config(const std::string& path);  // a config.json, or a directory holding one

nlohmann::json dspark_config_json(const DSparkConfig& config);

}  // namespace talon::model
