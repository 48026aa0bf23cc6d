// The EAGLE-3 draft of brief §2: `fc` fuses three target layers into one
// hidden state, and one Llama decoder layer whose input is [embedding;
// hidden] (2H wide) predicts the next token over the draft vocabulary.
// Member names follow the checkpoint names (brief §3) so that saving and
// loading is a lookup.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "talon/io/hf_config.h"
#include "talon/io/safetensors.h"

namespace talon::model {

using io::NamedTensors;

struct Eagle3Draft {
  io::DraftConfig config;

  at::Tensor fc;                                      // [H, 3 * target_hidden]
  at::Tensor q_proj, k_proj, v_proj;                  // [heads * d, 2H], [kv_heads * d, 2H] x 2
  at::Tensor o_proj;                                  // [H, heads * d]
  at::Tensor gate_proj, up_proj, down_proj;           // [I, H], [I, H], [H, I]
  at::Tensor input_layernorm, hidden_norm, post_attention_layernorm, norm;  // [H]
  at::Tensor lm_head;                                 // [Vd, H]
  at::Tensor embed_tokens;                            // [V, H]: the target's, frozen, never saved

  // A fresh draft with PyTorch's default initialisation (brief §2): every
  // Linear kaiming-uniform, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn
  // from `generator` in checkpoint-name order; norm weights 1.
  static Eagle3Draft create(const io::DraftConfig& config, at::Tensor embed_tokens, at::Generator generator,
                            const at::TensorOptions& options);

  // The trainable tensors with their checkpoint names, in a fixed order.
  NamedTensors parameters() const;
  // Replaces the trainable tensors by name (a checkpoint), keeping their
  // device and dtype; every name must be present with its shape. `source`
  // names the file in errors.
  void load_parameters(const NamedTensors& tensors, const std::string& source);
  // Moves the trainable tensors to the device and dtype of `options`, as
  // fresh leaves that require grad.
  void to(const at::TensorOptions& options);
};

}  // namespace talon::model
