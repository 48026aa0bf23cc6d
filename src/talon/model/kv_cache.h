// The keys and values a decoder keeps for the tokens it has seen, so that
// decoding runs each new token through the model once (speculative
// decoding, generation). One entry per decoder layer.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace talon::model {

struct KvCache {
  std::vector<at::Tensor> keys, values;  // per layer [B, kv_heads, T, d]; empty before the first tokens

  std::int64_t length() const { return keys.empty() ? 0 : keys.front().size(2); }
  // Layer `layer`'s keys and values with `k`, `v` [B, kv, n, d] appended;
  // returns the whole [B, kv, T + n, d] of each.
  std::pair<at::Tensor, at::Tensor> append(std::size_t layer, const at::Tensor& k, const at::Tensor& v);
  // Keeps the cached positions `positions` (int64 [m], in order) and drops
  // the rest: after verifying a draft tree, the prefix and the accepted path.
  void keep(const at::Tensor& positions);
};

}  // namespace talon::model
