#include "talon/model/ttt_attention.h"

#include <ATen/ATen.h>

#include <cmath>

#include "talon/model/layers.h"

namespace talon::model {

at::Tensor ttt_attention(const at::Tensor& q, const TttKvCache& cache, const at::Tensor& lengths) {
  const std::int64_t length = q.size(2), groups = q.size(1) / cache.keys[0].size(1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  const at::ScalarType wide = at_least_fp32(q.scalar_type());

  // Step-0 keys: causal, and no key past the sample's real length.
  at::Tensor positions = at::arange(length, lengths.options());
  at::Tensor visible = (positions.view({-1, 1}) >= positions.view({1, -1})).view({1, 1, length, length}) &
                       (positions.view({1, -1}) < lengths.view({-1, 1})).view({-1, 1, 1, length});  // [B, 1, L, L]
  at::Tensor k0 = repeat_kv(cache.keys[0], groups), v0 = repeat_kv(cache.values[0], groups);
  std::vector<at::Tensor> scores = {
      (at::matmul(q, k0.transpose(-2, -1)).to(wide) * scale).masked_fill(visible.logical_not(), -INFINITY)};
  // Later steps: each query against its own position's key, one column each.
  for (std::size_t r = 1; r < cache.keys.size(); ++r) {
    at::Tensor kr = repeat_kv(cache.keys[r], groups);
    scores.push_back(((q * kr).sum(-1, /*keepdim=*/true).to(wide) * scale));
  }
  at::Tensor probs = at::softmax(at::cat(scores, -1), -1).to(q.scalar_type());  // [B, h, L, L + s]

  at::Tensor out = at::matmul(probs.narrow(-1, 0, length), v0);
  for (std::size_t r = 1; r < cache.values.size(); ++r) {
    out = out + probs.narrow(-1, length + static_cast<std::int64_t>(r) - 1, 1) * repeat_kv(cache.values[r], groups);
  }
  return out;
}

}  // namespace talon::model
