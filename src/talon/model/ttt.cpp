#include "talon/model/ttt.h"

#include <ATen/ATen.h>

#include <cmath>

#include "talon/model/layers.h"
#include "talon/model/ttt_attention.h"

namespace talon::model {

at::Tensor shift_left(const at::Tensor& x, std::int64_t steps, double fill) {
  const std::int64_t length = x.size(1);
  if (steps == 0) return x;
  if (steps >= length) return at::full_like(x, fill);
  std::vector<std::int64_t> tail_shape = x.sizes().vec();
  tail_shape[1] = steps;
  return at::cat({x.narrow(1, steps, length - steps), at::full(tail_shape, fill, x.options())}, 1);
}

namespace {

// One pass of the decoder layer at TTT step s = cache.keys.size() (before
// this step's keys are added). x: the 2H input [B, L, 2H]; residual: h_in.
at::Tensor decoder_layer(const Eagle3Draft& draft, const at::Tensor& x, const at::Tensor& residual,
                         const RopeTable& rope, TttKvCache& cache, const at::Tensor& lengths) {
  const io::DraftConfig& c = draft.config;
  const std::int64_t batch = x.size(0), length = x.size(1), d = c.head_dim;
  auto heads = [&](const at::Tensor& w, std::int64_t n) {
    return at::linear(x, w).view({batch, length, n, d}).transpose(1, 2);  // [B, n, L, d]
  };
  at::Tensor q = apply_rope(heads(draft.q_proj, c.num_attention_heads), rope);
  cache.keys.push_back(apply_rope(heads(draft.k_proj, c.num_key_value_heads), rope));
  cache.values.push_back(heads(draft.v_proj, c.num_key_value_heads));
  at::Tensor attn = ttt_attention(q, cache, lengths).transpose(1, 2).reshape({batch, length, -1});
  at::Tensor h = residual + at::linear(attn, draft.o_proj);
  return h + swiglu_mlp(rms_norm(h, draft.post_attention_layernorm, c.rms_norm_eps), draft.gate_proj, draft.up_proj,
                        draft.down_proj);
}

}  // namespace

TttOutput ttt_forward(const Eagle3Draft& draft, const TttBatch& batch, int ttt_length) {
  const io::DraftConfig& c = draft.config;
  const at::ScalarType dtype = draft.fc.scalar_type();
  const at::ScalarType loss_dtype = at_least_fp32(dtype);
  const std::int64_t length = batch.input_ids.size(1);
  const double padded_size = static_cast<double>(batch.input_ids.numel());
  const double uniform = 1.0 / static_cast<double>(c.draft_vocab_size);

  at::Tensor inv_freq = rope_inv_freq(c.head_dim, c.rope_theta, c.rope_scaling, "draft config");
  TttKvCache cache;
  at::Tensor hidden = at::linear(batch.aux.to(dtype), draft.fc);  // h_in of step 0: [B, L, H]
  at::Tensor input_ids = shift_left(batch.input_ids, 1);          // alignment: predict the token after t
  at::Tensor loss = at::zeros({}, batch.loss_mask.options().dtype(loss_dtype));
  std::vector<at::Tensor> ploss, correct, supervised;
  for (int s = 0; s < ttt_length; ++s) {
    at::Tensor embedded = at::embedding(draft.embed_tokens, input_ids).to(dtype);
    at::Tensor x = at::cat({rms_norm(embedded, draft.input_layernorm, c.rms_norm_eps),
                            rms_norm(hidden, draft.hidden_norm, c.rms_norm_eps)},
                           -1);
    RopeTable rope = rope_table(inv_freq, at::arange(s, s + length, batch.lengths.options()), dtype);
    hidden = decoder_layer(draft, x, hidden, rope, cache, batch.lengths);
    at::Tensor logits = at::linear(rms_norm(hidden, draft.norm, c.rms_norm_eps), draft.lm_head);  // [B, L, Vd]

    // Step s predicts position t + s + 1: the target rows and the mask move with it.
    at::Tensor probs = shift_left(batch.target.probs, s, uniform);
    at::Tensor loss_mask = shift_left(batch.loss_mask, s);
    at::Tensor position_mask = shift_left(batch.target.in_draft, s) * loss_mask;  // pm_s [B, L]
    at::Tensor log_probs = at::log_softmax(logits.to(loss_dtype), -1);
    at::Tensor step_loss = -(position_mask.unsqueeze(-1) * probs * log_probs).sum() / padded_size;
    loss = loss + std::pow(0.8, s) * step_loss;

    at::Tensor agree = (logits.argmax(-1) == probs.argmax(-1)).to(at::kFloat);
    ploss.push_back(step_loss.detach());
    correct.push_back((position_mask * agree).sum().detach());
    supervised.push_back(loss_mask.sum().detach());
    if (s + 1 < ttt_length) input_ids = shift_left(input_ids, 1);
  }
  return {loss, at::stack(ploss), at::stack(correct), at::stack(supervised)};
}

}  // namespace talon::model
