// The backbone the block drafters share (DFlash, DSpark; design
// dflash-dspark.md §1): `fc` fuses m target layers' features into the
// context rows, and a stack of Qwen3 decoder layers whose keys and values
// cover those context rows and the block's own rows. Member names are the
// checkpoint names (§1.1), so saving and loading is a lookup. There is no
// embedding or lm_head of the draft's own: both are the target's, frozen.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "talon/io/safetensors.h"
#include "talon/model/block/block_config.h"
#include "talon/parallel/group.h"
#include "talon/parallel/tp_shard.h"

namespace talon::model {

using io::NamedTensors;

// One decoder layer, Qwen3's names under layers.{i}.
struct BlockLayer {
  at::Tensor input_layernorm, post_attention_layernorm;  // [H]
  at::Tensor q_proj, k_proj, v_proj, o_proj;             // [h*d, H], [kv*d, H] x2, [H, h*d]
  at::Tensor q_norm, k_norm;                             // [d]: per-head RMSNorm
  at::Tensor gate_proj, up_proj, down_proj;              // [I, H] x2, [H, I]
};

// Under draft tensor parallelism (group `tp`) each member holds its slices,
// Megatron's layout as the EAGLE-3 draft's: q/k/v and gate/up split by rows
// (heads, MLP rows), o and down by columns; fc and the norms replicated.
// The embedding and lm_head stay whole (the objective runs replicated on
// the all-reduced hidden states).
struct BlockDraft {
  BlockDraftConfig config;
  at::Tensor fc;           // [H, m * H]
  at::Tensor hidden_norm;  // [H]: RMSNorm of fc's output, the context rows
  std::vector<BlockLayer> layers;
  at::Tensor norm;  // [H]: the final RMSNorm
  at::Tensor embed_tokens, lm_head;  // [V, H] each: the target's, frozen, never saved
  parallel::Group tp;

  // A fresh backbone as the reference drafts start (Qwen3PreTrainedModel's
  // init): every Linear N(0, 0.02^2), drawn from `generator` in
  // checkpoint-name order; norm weights 1. The target's embed_tokens and
  // lm_head are kept as given. Each TP member draws the whole tensors and
  // keeps its slices, so every layout starts from the same weights.
  static BlockDraft create(const BlockDraftConfig& config, at::Tensor embed_tokens, at::Tensor lm_head,
                           at::Generator generator, const at::TensorOptions& options, parallel::Group tp = {});
  // The layout of each parameter on `tp`, in parameters() order; sizes the
  // group cannot split are errors naming --draft-tp-size.
  static std::vector<parallel::TpShard> shards(const BlockDraftConfig& config, const parallel::Group& tp);
  std::vector<parallel::TpShard> shards() const { return shards(config, tp); }

  // The trainable tensors with their checkpoint names, in a fixed order.
  NamedTensors parameters() const;
  // The whole shape of each name parameters() gives, under `config`.
  static std::vector<std::pair<std::string, std::vector<std::int64_t>>> parameter_shapes(const BlockDraftConfig& config);
  // Replaces the trainable tensors from `tensors` (whole ones) by name,
  // keeping their device and dtype; a name missing or shaped otherwise is an
  // error naming `source`, the tensor and both shapes. Other names are ignored.
  void load_parameters(const NamedTensors& tensors, const std::string& source);
  // Moves the trainable tensors to `options`, as fresh leaves that require grad.
  void to(const at::TensorOptions& options);

 private:
  std::vector<at::Tensor*> slots();
};

// Fills each slot from the tensor of its name in `tensors`, keeping the
// slot's device and dtype, as a fresh leaf that requires grad: every name of
// `shapes` must be there with its shape, or an error names `source`, the
// tensor and both shapes. Other names are ignored.
void load_slots(const std::vector<std::pair<std::string, std::vector<std::int64_t>>>& shapes,
                const std::vector<at::Tensor*>& slots, const NamedTensors& tensors, const std::string& source);

}  // namespace talon::model
