#include "talon/model/eagle3/ttt.h"

#include <ATen/ATen.h>

#include <cmath>

#include "talon/model/eagle3/draft_layer.h"
#include "talon/model/layers.h"
#include "talon/model/recompute.h"
#include "talon/model/eagle3/ttt_attention.h"
#include "talon/model/eagle3/ttt_head.h"

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

struct StepOutput {
  at::Tensor hidden, key, value;  // h [B, L, H]; k_s, v_s [B, kv, L, d]
};

// The decoder layer at TTT step s = earlier.keys.size() (brief §2 steps
// 1-5): h_in [B, L, H] is fc(aux) at step 0, else the previous step's h;
// input_ids [B, L] the step's (shifted) tokens; earlier: keys and values of
// steps 0..s-1.
StepOutput decoder_step(const Eagle3Draft& draft, const at::Tensor& h_in, const at::Tensor& input_ids,
                        const TttKvCache& earlier, const RopeTable& rope, const at::Tensor& lengths,
                        bool blockwise) {
  TttKvCache cache = earlier;
  at::Tensor h = draft_layer(draft, h_in, input_ids, rope, [&](const at::Tensor& q, const at::Tensor& k,
                                                               const at::Tensor& v) {
    cache.keys.push_back(k);
    cache.values.push_back(v);
    return blockwise ? ttt_attention(q, cache, lengths) : ttt_attention_reference(q, cache, lengths);
  });
  return {h, cache.keys.back(), cache.values.back()};
}

// decoder_step, optionally as a recomputed function: then only its inputs
// and outputs stay alive until the backward pass reruns it.
StepOutput run_decoder_step(const Eagle3Draft& draft, const at::Tensor& h_in, const at::Tensor& input_ids,
                            const TttKvCache& earlier, const RopeTable& rope, const at::Tensor& lengths,
                            const TttOptions& options) {
  if (!options.recompute) {
    return decoder_step(draft, h_in, input_ids, earlier, rope, lengths, options.blockwise_attention);
  }
  const std::size_t steps = earlier.keys.size();
  std::vector<at::Tensor> inputs = {h_in, input_ids};
  inputs.insert(inputs.end(), earlier.keys.begin(), earlier.keys.end());
  inputs.insert(inputs.end(), earlier.values.begin(), earlier.values.end());
  const bool blockwise = options.blockwise_attention;
  Recomputable fn = [&draft, rope, lengths, steps, blockwise](const std::vector<at::Tensor>& in) {
    TttKvCache cache{{in.begin() + 2, in.begin() + 2 + steps}, {in.begin() + 2 + steps, in.end()}};
    StepOutput out = decoder_step(draft, in[0], in[1], cache, rope, lengths, blockwise);
    return std::vector<at::Tensor>{out.hidden, out.key, out.value};
  };
  // Every parameter the layer reads except the frozen embedding.
  std::vector<at::Tensor> parameters = {draft.q_proj,    draft.k_proj,          draft.v_proj,
                                        draft.o_proj,    draft.gate_proj,       draft.up_proj,
                                        draft.down_proj, draft.input_layernorm, draft.hidden_norm,
                                        draft.post_attention_layernorm};
  std::vector<at::Tensor> out = recompute_in_backward(fn, inputs, parameters);
  return {out[0], out[1], out[2]};
}

}  // namespace

std::vector<at::Tensor> ttt_hidden_states(const Eagle3Draft& draft, const at::Tensor& input_ids, const at::Tensor& aux,
                                          const at::Tensor& lengths, int ttt_length, const TttOptions& options) {
  const io::DraftConfig& c = draft.config;
  const at::ScalarType dtype = draft.fc.scalar_type();
  const std::int64_t length = input_ids.size(1);

  at::Tensor inv_freq = rope_inv_freq(c.head_dim, c.rope_theta, c.rope_scaling, "draft config");
  TttKvCache cache;
  at::Tensor hidden = fuse_aux(draft, aux);  // h_in of step 0: [B, L, H]
  at::Tensor step_ids = shift_left(input_ids, 1);           // alignment: predict the token after t
  // Step s sees positions s .. s + L - 1: one table for them all, viewed per step.
  const RopeTable table = rope_table(inv_freq, at::arange(length + ttt_length - 1, lengths.options()), dtype);
  std::vector<at::Tensor> out;
  for (int s = 0; s < ttt_length; ++s) {
    const RopeTable rope{table.cos.narrow(0, s, length), table.sin.narrow(0, s, length)};
    StepOutput step = run_decoder_step(draft, hidden, step_ids, cache, rope, lengths, options);
    cache.keys.push_back(step.key);
    cache.values.push_back(step.value);
    hidden = step_hidden(draft, step.hidden).next;
    out.push_back(hidden);
    if (s + 1 < ttt_length) step_ids = shift_left(step_ids, 1);
  }
  return out;
}

TttOutput ttt_forward(const Eagle3Draft& draft, const TttBatch& batch, int ttt_length, const TttOptions& options) {
  const std::vector<at::Tensor> hidden =
      ttt_hidden_states(draft, batch.input_ids, batch.aux, batch.lengths, ttt_length, options);
  at::Tensor loss = at::zeros({}, batch.loss_mask.options().dtype(at_least_fp32(draft.fc.scalar_type())));
  std::vector<at::Tensor> ploss, correct, supervised;
  for (int s = 0; s < ttt_length; ++s) {
    // Step s predicts position t + s + 1: the target rows and the mask move with it.
    at::Tensor loss_mask = shift_left(batch.loss_mask, s);
    at::Tensor position_mask = shift_left(batch.target.in_draft, s) * loss_mask;  // pm_s [B, L]
    StepLoss step = step_loss(draft, hidden[static_cast<std::size_t>(s)], batch.target, s, position_mask,
                              options.head_chunk);
    loss = loss + std::pow(0.8, s) * step.loss;
    ploss.push_back(step.loss.detach());
    correct.push_back(step.correct);
    supervised.push_back(loss_mask.sum().detach());
  }
  return {loss, at::stack(ploss), at::stack(correct), at::stack(supervised)};
}

}  // namespace talon::model
