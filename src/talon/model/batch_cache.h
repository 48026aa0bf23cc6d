// The KV cache of a batch of sequences decoded together that advance at
// different rates (each row of a speculative batch accepts its own number
// of drafts, and prompts differ in length). The rows share the cache's
// columns; `live` marks a row's own tokens, and the rest are holes it never
// attends to. A column is dropped once it is a hole in every row, so a
// single sequence keeps exactly its tokens.
//
// A decoding step appends a block of new columns (KvCache::append, through
// the model's extend) and then settles it: each row says which of the new
// columns it keeps. Columns appended and not yet settled (draft steps) can
// be discarded instead.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "talon/model/kv_cache.h"

namespace talon::model {

class BatchCache {
 public:
  explicit BatchCache(std::int64_t rows);

  KvCache& kv() { return kv_; }
  std::int64_t rows() const { return static_cast<std::int64_t>(lengths_.size()); }
  // The tokens row `row` has kept: the RoPE position of its next one.
  std::int64_t length(std::int64_t row) const { return lengths_[static_cast<std::size_t>(row)]; }

  // The attention mask bool [B, n, T + n] for n new tokens over the T cached
  // columns and themselves: each row's settled live columns, then `recent`
  // [B, n, u + n] over the u unsettled columns and the new ones.
  at::Tensor mask(const at::Tensor& recent) const;
  // positions int64 [B, n]: each row's length plus `offsets` [B, n] (a
  // token's depth in its block).
  at::Tensor positions(const at::Tensor& offsets) const;

  // Settles the unsettled columns: row b keeps the block's columns kept[b]
  // (ascending; its next tokens, in order), the others become its holes.
  void settle(const std::vector<std::vector<std::int64_t>>& kept);
  // Drops the unsettled columns.
  void discard_unsettled();
  // Row b keeps only its first counts[b] tokens (a conversation's common
  // prefix with its next prompt); no columns may be unsettled.
  void keep_first(const std::vector<std::int64_t>& counts);
  // Keeps the rows `rows` (ascending) of the batch.
  void keep_rows(const std::vector<std::int64_t>& rows);

 private:
  void drop_dead_columns();

  KvCache kv_;
  at::Tensor live_;  // bool [B, settled columns], on the CPU
  std::vector<std::int64_t> lengths_;
};

}  // namespace talon::model
