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
  // Keeps the entries `index` (int64, in order) along `dim` and drops the
  // rest: dim 2 keeps cached positions (the prefix and a verified draft
  // path), dim 0 keeps sequences of the batch.
  void keep(std::int64_t dim, const at::Tensor& index);
};

// Throws, naming `who`, unless for input_ids [B, n] positions is int64
// [B, n] and mask bool [B, n, cache.length() + n]: a decoding step's inputs.
void check_decoding_inputs(const char* who, const at::Tensor& input_ids, const at::Tensor& positions,
                           const at::Tensor& mask, const KvCache& cache);

}  // namespace talon::model
