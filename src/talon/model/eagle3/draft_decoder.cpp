#include "talon/model/eagle3/draft_decoder.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "talon/model/eagle3/draft_layer.h"
#include "talon/model/layers.h"
#include "talon/util/error.h"

namespace talon::model {
namespace {

// The layer at `positions` [n] or [B, n], with `attend` over the new keys
// and values (appended to `cache` first), then the head.
DraftStep run(const Eagle3Draft& draft, const at::Tensor& h_in, const at::Tensor& input_ids,
              const at::Tensor& positions, KvCache& cache, const DraftAttention& attend) {
  at::NoGradGuard no_grad;
  const io::DraftConfig& c = draft.config;
  const at::Tensor inv_freq = rope_inv_freq(c.head_dim, c.rope_theta, c.rope_scaling, "draft config");
  const RopeTable rope = rope_table(inv_freq.to(h_in.device()), positions.to(h_in.device()), h_in.scalar_type());
  const StepHidden h = step_hidden(draft, draft_layer(draft, h_in, input_ids, rope, attend));
  return {h.next, at::linear(h.head_input, draft.lm_head)};
}

}  // namespace

DraftStep draft_extend(const Eagle3Draft& draft, const at::Tensor& h_in, const at::Tensor& input_ids,
                       const at::Tensor& positions, const at::Tensor& mask, KvCache& cache) {
  check_decoding_inputs("draft extend", input_ids, positions, mask, cache);
  const at::Tensor visible = mask.to(h_in.device()).unsqueeze(1);
  return run(draft, h_in, input_ids, positions, cache,
             [&](const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
               auto [keys, values] = cache.append(0, k, v);
               return masked_attention(q, keys, values, visible);
             });
}

DraftStep draft_prefill(const Eagle3Draft& draft, const at::Tensor& h_in, const at::Tensor& input_ids, KvCache& cache) {
  if (cache.length() != 0) fail("draft prefill: the cache must be empty, it holds {} positions", cache.length());
  const at::Tensor positions = at::arange(input_ids.size(1), input_ids.options().dtype(at::kLong));
  return run(draft, h_in, input_ids, positions, cache,
             [&](const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
               cache.append(0, k, v);
               return causal_attention(q, k, v);
             });
}

}  // namespace talon::model
