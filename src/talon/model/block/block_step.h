// What DFlash and DSpark do alike with a training micro-batch: draw its
// blocks, run the backbone over them, and save the result as the engines
// load it.
#pragma once

#include <ATen/core/Tensor.h>
#include <nlohmann/json_fwd.hpp>

#include <string>

#include "talon/model/block/anchors.h"
#include "talon/model/block/block_draft.h"
#include "talon/model/draft_method.h"

namespace talon::model {

struct BlockStep {
  BlockAnchors blocks;
  at::Tensor hidden;  // [B, N * block_size, H]: the backbone's final-normed rows
};

// Anchors drawn from batch.seed (a CPU generator: the same draw on every
// device), the blocks' inputs, and the backbone. blockwise: block
// attention's blockwise form, else the plain masked reference.
BlockStep run_blocks(const BlockDraft& draft, const DraftBatch& batch, bool blockwise);

// config.json (`config`) and model.safetensors (`whole` in BF16, no
// embedding or lm_head: the engines take the target's), into `dir`.
void save_block_draft(const std::string& dir, const nlohmann::json& config, const NamedTensors& whole);

}  // namespace talon::model
