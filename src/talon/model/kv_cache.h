// The keys and values a decoder keeps for the tokens it has seen, so that
// decoding runs each new token through the model once (speculative
// decoding, generation). One entry per decoder layer.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace talon::model {

class KvCache {
 public:
  // Cached positions (layer 0's; the others catch up within a step).
  std::int64_t length() const { return lengths_.empty() ? 0 : lengths_.front(); }
  // Layer `layer`'s keys and values with `k`, `v` [B, kv, n, d] appended;
  // returns the whole [B, kv, T + n, d] of each (views of the cache).
  // Storage grows by half its size when full, so decoding a token costs
  // its own columns, not a copy of the cache.
  std::pair<at::Tensor, at::Tensor> append(std::size_t layer, const at::Tensor& k, const at::Tensor& v);
  // Keeps the entries `index` (int64, in order) along `dim` and drops the
  // rest: dim 2 keeps cached positions (the prefix and a verified draft
  // path), dim 0 keeps sequences of the batch.
  void keep(std::int64_t dim, const at::Tensor& index);
  // Keeps the first `length` positions, without copying.
  void truncate(std::int64_t length);

  std::size_t layers() const { return keys_.size(); }
  // Layer `layer`'s cached keys and values, [B, kv_heads, T, d] each.
  at::Tensor keys(std::size_t layer) const;
  at::Tensor values(std::size_t layer) const;

 private:
  std::vector<at::Tensor> keys_, values_;  // per layer [B, kv_heads, capacity, d]
  std::vector<std::int64_t> lengths_;      // per layer: the positions in use
};

// Throws, naming `who`, unless for input_ids [B, n] positions is int64
// [B, n] and mask bool [B, n, cache.length() + n]: a decoding step's inputs.
void check_decoding_inputs(const char* who, const at::Tensor& input_ids, const at::Tensor& positions,
                           const at::Tensor& mask, const KvCache& cache);

}  // namespace talon::model
