// The block backbone at inference, as SGLang and vLLM decode a DFlash or
// DSpark draft (design dflash-dspark.md §2.4, §3.4): the context rows'
// keys and values cached per layer, and each round one block [x0, mask,
// ...] at the next positions attending to the cached context and to itself
// (full layers bidirectionally, sliding layers causally within their
// window). The block's own keys and values are not kept. One sequence; no
// autograd.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "talon/model/block/block_draft.h"

namespace talon::model {

class BlockContext {
 public:
  explicit BlockContext(const BlockDraft& draft);

  // The context rows of the target's features [n, m H] (its target layers,
  // ascending) at positions length() .. length() + n - 1.
  void append(const at::Tensor& features);
  std::int64_t length() const { return length_; }

  // The block ids [bs] at positions length() .. length() + bs - 1 -> the
  // final-normed hidden states [bs, H].
  at::Tensor block(const at::Tensor& ids) const;

 private:
  const BlockDraft* draft_;
  std::vector<at::Tensor> keys_, values_;  // per layer, [1, kv, length, d]
  std::int64_t length_ = 0;
  at::Tensor inv_freq_;
};

}  // namespace talon::model
