// The tensors of a Hugging Face Llama / Qwen2 / Qwen3 checkpoint, named as
// in its safetensors files, with the shapes its config.json implies. One list
// serves both the loader (which validates a checkpoint against it) and
// `talon init-target` (which fills it with random weights).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "talon/io/hf_config.h"
#include "talon/io/safetensors.h"
#include "talon/parallel/tp_shard.h"

namespace talon::model {

// How transformers' _init_weights fills a tensor of a fresh model.
enum class TensorRole {
  Matrix,  // linear weight [out, in] or embedding [V, H]: normal(0, initializer_range)
  Norm,    // RMSNorm weight: ones
  Bias,    // q/k/v/o bias: zeros
};

struct TargetTensorSpec {
  std::string name;  // "model.layers.3.self_attn.q_proj.weight"
  std::vector<std::int64_t> shape;
  TensorRole role;
  parallel::Split split;  // its tensor-parallel layout (Megatron's)
};

// Every tensor the model reads, in checkpoint order: embedding, layers 0..L-1,
// final norm, then lm_head unless tie_word_embeddings (the embedding is
// reused). q/k/v biases when attention_bias, and an o_proj bias too except
// in Qwen2 (as transformers builds them); q_norm/k_norm [head_dim] when qk_norm.
// Under tensor parallelism q/k/v (and their biases), gate and up are split
// by rows (heads, MLP rows), o and down by columns, the embedding and
// lm_head by vocabulary rows; norms and the o bias (added after the
// reduction) are replicated.
std::vector<TargetTensorSpec> target_tensor_specs(const io::TargetConfig& config);

// Random weights for every spec, generated in fp32 in spec order from one
// CPU generator seeded with `seed` (so a seed fixes every byte), then cast to
// `dtype`. CPU tensors.
io::NamedTensors random_target_weights(const io::TargetConfig& config, double initializer_range, std::uint64_t seed,
                                       at::ScalarType dtype);

}  // namespace talon::model
