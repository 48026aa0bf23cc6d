// The EAGLE-3 draft of brief §2: `fc` fuses three target layers into one
// hidden state, and one Llama decoder layer whose input is [embedding;
// hidden] (2H wide) predicts the next token over the draft vocabulary.
// Member names follow the checkpoint names (brief §3) so that saving and
// loading is a lookup.
//
// Under draft tensor parallelism (group `tp`, --draft-tp-size) each member
// holds its slices, Megatron's layout: q/k/v and gate/up split by rows
// (heads, MLP rows), o and down by columns, lm_head and the embedding by
// vocabulary rows; fc and the norms are replicated. Shapes below are whole;
// a member's are its slices of them.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "talon/io/hf_config.h"
#include "talon/io/safetensors.h"
#include "talon/parallel/group.h"
#include "talon/parallel/tp_shard.h"

namespace talon::model {

using io::NamedTensors;

struct Eagle3Draft {
  io::DraftConfig config;

  at::Tensor fc;                                      // [H, 3 * target_hidden]
  at::Tensor fc_norm_0, fc_norm_1, fc_norm_2;         // [target_hidden] each: EAGLE-3.1's fc_norm only
  at::Tensor q_proj, k_proj, v_proj;                  // [heads * d, 2H], [kv_heads * d, 2H] x 2
  at::Tensor o_proj;                                  // [H, heads * d]
  at::Tensor gate_proj, up_proj, down_proj;           // [I, H], [I, H], [H, I]
  at::Tensor input_layernorm, hidden_norm, post_attention_layernorm, norm;  // [H]
  at::Tensor lm_head;                                 // [Vd, H]
  at::Tensor embed_tokens;                            // [V, H]: the target's, frozen, never saved
  parallel::Group tp;

  // A fresh draft with PyTorch's default initialisation (brief §2): every
  // Linear kaiming-uniform, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn
  // from `generator` in checkpoint-name order; norm weights 1. Each member
  // draws the whole tensors and keeps its slices, so every layout starts
  // from the same weights. embed_tokens: this member's rows of the
  // target's embedding (shard(config, "embed_tokens.weight", tp)).
  static Eagle3Draft create(const io::DraftConfig& config, at::Tensor embed_tokens, at::Generator generator,
                            const at::TensorOptions& options, parallel::Group tp = {});

  // The trainable tensors (this member's slices) with their checkpoint
  // names, in a fixed order; shards() gives their layout in the same order.
  NamedTensors parameters() const;
  std::vector<parallel::TpShard> shards() const { return shards(config, tp); }
  static std::vector<parallel::TpShard> shards(const io::DraftConfig& config, const parallel::Group& tp);
  // The layout of a parameter, or of "embed_tokens.weight" (vocabulary
  // rows), on a draft-TP group; impossible splits are errors naming
  // --draft-tp-size.
  static parallel::TpShard shard(const io::DraftConfig& config, const std::string& name, const parallel::Group& tp);
  // Replaces the trainable tensors by name from whole tensors (a
  // checkpoint), keeping their device and dtype; every name must be present
  // with its whole shape. `source` names the file in errors.
  void load_parameters(const NamedTensors& tensors, const std::string& source);
  // The check load_parameters makes, before any draft exists: a config
  // whose sizes the weights contradict fails naming the tensor and both
  // shapes, not as a huge allocation. Other names in `tensors` are ignored.
  static void check_whole_shapes(const io::DraftConfig& config, const NamedTensors& tensors, const std::string& source);
  // The whole shape of the trainable tensor `name` (a name of parameters())
  // under `config`, as in the comments above.
  static std::vector<std::int64_t> whole_shape(const io::DraftConfig& config, const std::string& name);
  // Moves the trainable tensors to the device and dtype of `options`, as
  // fresh leaves that require grad.
  void to(const at::TensorOptions& options);
};

// fc's output, step 0's h_in [B, L, H], from the target's aux features
// [B, L, 3 target_hidden]: fc(aux), or with fc_norm (EAGLE-3.1)
// fc(cat(RMSNorm_i(aux_i))), each aux layer's features normed alone.
at::Tensor fuse_aux(const Eagle3Draft& draft, const at::Tensor& aux);

// The draft's output of a decoder step h [.., H]: the hidden state the next
// draft step reads, and what lm_head reads. Plain EAGLE-3 feeds h forward
// and gives lm_head norm(h); with norm_output (EAGLE-3.1) both are norm(h).
struct StepHidden {
  at::Tensor next, head_input;
};
StepHidden step_hidden(const Eagle3Draft& draft, const at::Tensor& h);

}  // namespace talon::model
