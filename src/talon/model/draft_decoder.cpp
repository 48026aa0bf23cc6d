#include "talon/model/draft_decoder.h"

#include <ATen/ATen.h>

#include "talon/model/draft_layer.h"
#include "talon/model/layers.h"

namespace talon::model {

DraftStep draft_extend(const Eagle3Draft& draft, const at::Tensor& h_in, const at::Tensor& input_ids,
                       const at::Tensor& positions, const at::Tensor& mask, KvCache& cache) {
  at::NoGradGuard no_grad;
  check_decoding_inputs("draft extend", input_ids, positions, mask, cache);
  const io::DraftConfig& c = draft.config;
  const at::Tensor inv_freq = rope_inv_freq(c.head_dim, c.rope_theta, c.rope_scaling, "draft config");
  const RopeTable rope = rope_table(inv_freq.to(h_in.device()), positions.to(h_in.device()), h_in.scalar_type());
  const at::Tensor visible = mask.to(h_in.device()).unsqueeze(1);
  at::Tensor h =
      draft_layer(draft, h_in, input_ids, rope, [&](const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
        auto [keys, values] = cache.append(0, k, v);
        return masked_attention(q, keys, values, visible);
      });
  return {h, at::linear(rms_norm(h, draft.norm, c.rms_norm_eps), draft.lm_head)};
}

}  // namespace talon::model
