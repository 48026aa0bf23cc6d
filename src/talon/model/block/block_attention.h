// The attention of the block drafters (DFlash, DSpark; design
// dflash-dspark.md §2.1): N blocks of `block_size` query rows each, block n
// anchored at position a_n of its sample. Every query row sees
//   - the context keys before the anchor: j < a_n (full-attention layers),
//     or a_n + k - (W - 1) <= j < a_n for slot k (sliding layers, window W);
//   - the keys of its own block: all of them (full), or slots k' <= k
//     (sliding, causal within the block).
// A dropped block (keep false) sees its own block only: finite rows whose
// loss weight is 0. The context keys are the draft's projections of the
// target's features at positions 0..S-1; the block keys its own rows'.
//
// Shapes: q [B, h, N * block_size, d]; context k, v [B, kv, S, d]; block
// k, v [B, kv, N * block_size, d] (rows block-major); anchors [B, N] int64;
// keep [B, N] bool. h a multiple of kv; scale 1/sqrt(d), softmax in at
// least fp32; result [B, h, N * block_size, d] in q's dtype.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace talon::model {

struct BlockAttentionInputs {
  at::Tensor q;
  at::Tensor context_k, context_v;
  at::Tensor block_k, block_v;
  at::Tensor anchors, keep;
  std::int64_t block_size = 0;
  std::int64_t sliding_window = 0;  // 0: a full-attention layer
};

// Never forms [N * block_size, S] scores: the context part runs blockwise
// with an online softmax (flash_attention.h's ranged loop), the in-block
// part is [N, block_size, block_size], and the two join through their
// log-sum-exps. A custom backward recomputes the scores from the saved
// log-sum-exp, so memory is linear in S.
at::Tensor block_attention(const BlockAttentionInputs& in);

// The plain form, the reference: one explicit boolean mask over
// [context ; blocks] keys, [N * block_size, S + N * block_size], and plain
// autograd.
at::Tensor block_attention_reference(const BlockAttentionInputs& in);

// The mask of block_attention_reference, [B, N * block_size, S + N * block_size]
// bool (true = may attend), written as the rules above read, one loop per rule.
at::Tensor block_attention_mask(const at::Tensor& anchors, const at::Tensor& keep, std::int64_t block_size,
                                std::int64_t context_length, std::int64_t sliding_window);

}  // namespace talon::model
