#include "talon/model/eagle3/draft_layer.h"

#include <ATen/ATen.h>

#include "talon/parallel/tensor_parallel.h"

namespace talon::model {

at::Tensor draft_layer(const Eagle3Draft& draft, const at::Tensor& h_in, const at::Tensor& input_ids,
                       const RopeTable& rope, const DraftAttention& attend) {
  const io::DraftConfig& c = draft.config;
  const std::int64_t batch = h_in.size(0), length = h_in.size(1), d = c.head_dim;
  at::Tensor embedded = parallel::vocab_parallel_embedding(draft.embed_tokens, input_ids, draft.tp).to(h_in.scalar_type());
  at::Tensor x = at::cat({rms_norm(embedded, draft.input_layernorm, c.rms_norm_eps),
                          rms_norm(h_in, draft.hidden_norm, c.rms_norm_eps)},
                         -1);
  // Under draft TP: this member's heads and MLP rows (eagle3_draft.h), with
  // Megatron's conjugate operators where the layer fans out and back in.
  x = parallel::copy_to_tp(x, draft.tp);
  auto heads = [&](const at::Tensor& w) {
    return at::linear(x, w).view({batch, length, w.size(0) / d, d}).transpose(1, 2);  // [B, n, L, d]
  };
  at::Tensor attn = attend(apply_rope(heads(draft.q_proj), rope), apply_rope(heads(draft.k_proj), rope),
                           heads(draft.v_proj));
  at::Tensor h = h_in + parallel::reduce_from_tp(
                            at::linear(attn.transpose(1, 2).reshape({batch, length, -1}), draft.o_proj), draft.tp);
  at::Tensor normed = parallel::copy_to_tp(rms_norm(h, draft.post_attention_layernorm, c.rms_norm_eps), draft.tp);
  return h + parallel::reduce_from_tp(swiglu_mlp(normed, draft.gate_proj, draft.up_proj, draft.down_proj), draft.tp);
}

}  // namespace talon::model
