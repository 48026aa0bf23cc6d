#include "talon/model/block/block_forward.h"

#include <ATen/ATen.h>

#include "talon/model/block/block_attention.h"
#include "talon/parallel/tensor_parallel.h"

namespace talon::model {

at::Tensor context_rows(const BlockDraft& draft, const at::Tensor& features) {
  return rms_norm(at::linear(features.to(draft.fc.scalar_type()), draft.fc), draft.hidden_norm,
                  draft.config.rms_norm_eps);
}

namespace {

// [B, R, H] -> [B, n, R, d] through projection w, with the per-head norm when given.
at::Tensor heads_of(const at::Tensor& rows, const at::Tensor& w, const at::Tensor& head_norm, std::int64_t d,
                    double eps) {
  at::Tensor projected = at::linear(rows, w).view({rows.size(0), rows.size(1), w.size(0) / d, d});
  if (head_norm.defined()) projected = rms_norm(projected, head_norm, eps);
  return projected.transpose(1, 2);
}

}  // namespace

ContextKv context_kv(const BlockDraft& draft, std::size_t index, const at::Tensor& c, const RopeTable& rope) {
  const BlockLayer& layer = draft.layers.at(index);
  const double eps = draft.config.rms_norm_eps;
  const std::int64_t d = draft.config.head_dim;
  return {apply_rope(heads_of(c, layer.k_proj, layer.k_norm, d, eps), rope), heads_of(c, layer.v_proj, {}, d, eps)};
}

at::Tensor block_layer(const BlockDraft& draft, std::size_t index, const at::Tensor& x, const at::Tensor& c,
                       const BlockRope& rope, const BlockAttend& attend) {
  const BlockLayer& layer = draft.layers.at(index);
  const double eps = draft.config.rms_norm_eps;
  const std::int64_t d = draft.config.head_dim;
  // Under draft TP: this member's heads and MLP rows (block_draft.h), with
  // Megatron's conjugate operators where the layer fans out and back in.
  const parallel::Group& tp = draft.tp;
  const at::Tensor a = parallel::copy_to_tp(rms_norm(x, layer.input_layernorm, eps), tp);
  const at::Tensor context_rows_here = parallel::copy_to_tp(c, tp);
  at::Tensor q = apply_rope(heads_of(a, layer.q_proj, layer.q_norm, d, eps), rope.query);
  const ContextKv context = context_kv(draft, index, context_rows_here, rope.context);
  const ContextKv block = context_kv(draft, index, a, rope.query);  // the same W_k, W_v and k_norm
  at::Tensor attn = attend(q, context.k, context.v, block.k, block.v);
  at::Tensor h = x + parallel::reduce_from_tp(
                         at::linear(attn.transpose(1, 2).reshape({x.size(0), x.size(1), -1}), layer.o_proj), tp);
  const at::Tensor normed = parallel::copy_to_tp(rms_norm(h, layer.post_attention_layernorm, eps), tp);
  return h + parallel::reduce_from_tp(swiglu_mlp(normed, layer.gate_proj, layer.up_proj, layer.down_proj), tp);
}

at::Tensor block_inv_freq(const BlockDraft& draft, at::Device device) {
  const BlockDraftConfig& c = draft.config;
  return rope_inv_freq(c.head_dim, c.rope_theta, c.rope_scaling, "the block draft's config").to(device);
}

at::Tensor block_hidden_states(const BlockDraft& draft, const at::Tensor& features, const at::Tensor& block_ids,
                               const at::Tensor& anchors, const at::Tensor& keep, bool blockwise) {
  const BlockDraftConfig& config = draft.config;
  const at::Device device = draft.fc.device();
  const at::ScalarType dtype = draft.fc.scalar_type();
  const std::int64_t bs = config.block_size, context_length = features.size(1);
  const at::Tensor inv_freq = block_inv_freq(draft, device);
  at::Tensor anchors_here = anchors.to(device, at::kLong), keep_here = keep.to(device, at::kBool);
  at::Tensor query_positions =
      anchors_here.repeat_interleave(bs, 1) + at::arange(bs, anchors_here.options()).repeat({anchors.size(1)});
  const BlockRope rope{rope_table(inv_freq, at::arange(context_length, anchors_here.options()), dtype),
                       rope_table(inv_freq, query_positions, dtype)};
  at::Tensor c = context_rows(draft, features.to(device));
  at::Tensor x = draft.embed_tokens.index_select(0, block_ids.to(device).flatten())
                     .view({block_ids.size(0), block_ids.size(1), -1})
                     .to(dtype);
  for (std::size_t i = 0; i < draft.layers.size(); ++i) {
    const std::int64_t window = config.window_of(i);
    auto attend = [&](const at::Tensor& q, const at::Tensor& ck, const at::Tensor& cv, const at::Tensor& bk,
                      const at::Tensor& bv) {
      const BlockAttentionInputs in{q, ck, cv, bk, bv, anchors_here, keep_here, bs, window};
      return blockwise ? block_attention(in) : block_attention_reference(in);
    };
    x = block_layer(draft, i, x, c, rope, attend);
  }
  return rms_norm(x, draft.norm, config.rms_norm_eps);
}

}  // namespace talon::model
