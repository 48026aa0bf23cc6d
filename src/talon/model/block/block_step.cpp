#include "talon/model/block/block_step.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include "talon/model/block/block_forward.h"
#include "talon/util/atomic_file.h"

namespace talon::model {

BlockStep run_blocks(const BlockDraft& draft, const DraftBatch& batch, bool blockwise) {
  const BlockDraftConfig& c = draft.config;
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(batch.seed);
  BlockAnchors blocks = sample_anchors(batch.loss_mask, c.num_anchors, generator);
  at::Tensor ids = block_input_ids(batch.input_ids, blocks, c.block_size, c.mask_token_id);
  at::Tensor hidden = block_hidden_states(draft, batch.features, ids, blocks.anchors, blocks.keep, blockwise);
  return {blocks, hidden};
}

void save_block_draft(const std::string& dir, const nlohmann::json& config, const NamedTensors& whole) {
  util::write_file_atomic(dir + "/config.json", config.dump(2) + "\n");
  NamedTensors tensors;
  for (const auto& [name, value] : whole) tensors.emplace_back(name, value.detach().to(at::kBFloat16));
  io::write_safetensors(dir + "/model.safetensors", tensors);
}

}  // namespace talon::model
