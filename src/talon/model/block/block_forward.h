// The backbone's forward (design dflash-dspark.md §1.2), one definition for
// training (every block of a sample at once, block/block_attention.h) and
// decoding (one block over a cache of context rows, eval/): the attention
// is left to the caller, the rest is here.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>

#include "talon/model/block/block_draft.h"
#include "talon/model/layers.h"

namespace talon::model {

// c = hidden_norm(features . fc^T): the context rows every layer's keys and
// values read. features [B, C, m * H], the target layers' outputs
// concatenated in target_layer_ids order -> [B, C, H].
at::Tensor context_rows(const BlockDraft& draft, const at::Tensor& features);

// One layer's attention: q [B, h, Q, d] of the query rows, k and v of the
// context rows [B, kv, C, d] and of the query rows [B, kv, Q, d], RoPE
// applied -> [B, h, Q, d].
using BlockAttend = std::function<at::Tensor(const at::Tensor& q, const at::Tensor& context_k,
                                             const at::Tensor& context_v, const at::Tensor& block_k,
                                             const at::Tensor& block_v)>;

// The positions of rows: the context rows' (rope_context) and the query rows' (rope_query).
struct BlockRope {
  RopeTable context, query;
};

// Layer `index`'s keys and values of rows c [B, C, H] at positions `rope`:
// k = k_norm(W_k c) with RoPE, v = W_v c, [B, kv, C, d] each. Context rows
// and a block's own (input-normed) rows alike; decoding caches the context's.
struct ContextKv {
  at::Tensor k, v;
};
ContextKv context_kv(const BlockDraft& draft, std::size_t index, const at::Tensor& c, const RopeTable& rope);

// Layer `index`: x [B, Q, H] the query rows' residual stream, c [B, C, H]
// -> x after the layer. The context rows and the query rows share W_k, W_v
// and k_norm; only the query rows go through input_layernorm.
at::Tensor block_layer(const BlockDraft& draft, std::size_t index, const at::Tensor& x, const at::Tensor& c,
                       const BlockRope& rope, const BlockAttend& attend);

// inv_freq of the draft's RoPE (fp32 [d/2]) on `device`.
at::Tensor block_inv_freq(const BlockDraft& draft, at::Device device);

// The training forward: features [B, S, m * H] (context positions
// 0..S-1), block_ids [B, N * block_size] (row n * bs + k at position
// anchors[n] + k), anchors and keep [B, N] -> the final-normed hidden
// states [B, N * block_size, H]. blockwise: block_attention, else the
// plain masked reference.
at::Tensor block_hidden_states(const BlockDraft& draft, const at::Tensor& features, const at::Tensor& block_ids,
                               const at::Tensor& anchors, const at::Tensor& keep, bool blockwise = true);

}  // namespace talon::model
