// DFlash's config.json, as SGLang's and vLLM's DFlashDraftModel loaders
// read it (design dflash-dspark.md §2.5): a Qwen3 config plus
//   architectures ["DFlashDraftModel"], block_size, num_target_layers,
//   dflash_config {target_layer_ids, mask_token_id, block_size}
// and, for older vLLM, eagle_aux_hidden_state_layer_ids = target ids + 1.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>

#include "talon/model/block/block_config.h"

namespace talon::model {

// Missing or contradictory fields are errors naming `source` and the field.
// The mask token may be absent (mask_token_id < 0): training resolves it
// from the tokenizer (train/, --mask-token-id); a checkpoint always has one.
// target_layer_ids default as design §1.3 says.
BlockDraftConfig parse_dflash_config(const nlohmann::json& config, const std::string& source);
BlockDraftConfig load_dflash_config(const std::string& path);  // a config.json, or a directory holding one

nlohmann::json dflash_config_json(const BlockDraftConfig& config);

}  // namespace talon::model
