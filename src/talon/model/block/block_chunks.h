// The block drafters' objectives score every block row over the whole
// vocabulary: [B, N, bs, V] logits would dwarf everything else in a step
// (512 blocks of 16 rows over Qwen3's 151,936 tokens is 5 GB in fp32). So
// the objective runs a chunk of blocks at a time and each chunk is
// recomputed in the backward pass (model/recompute.h): memory is one
// chunk's logits.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace talon::model {

// inputs: per-block tensors, blocks along dim 1 ([B, N, ...]); returns
// additive terms (floating point, any shapes, the same for every chunk).
using BlockTerms = std::function<std::vector<at::Tensor>(const std::vector<at::Tensor>& inputs)>;

// The sum over chunks of `chunk_blocks` blocks of fn(chunk), differentiable
// with respect to the inputs and `parameters`; chunk_blocks 0: fn(inputs)
// under plain autograd, the reference.
std::vector<at::Tensor> sum_over_block_chunks(const BlockTerms& fn, const std::vector<at::Tensor>& inputs,
                                              const std::vector<at::Tensor>& parameters, std::int64_t chunk_blocks);

}  // namespace talon::model
