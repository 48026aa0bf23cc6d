// The blocks of a training batch (design dflash-dspark.md §2.2): where
// each block is anchored, and the token ids its rows hold. The draw is
// SpecForge's; tests and parity runs inject anchors instead.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace talon::model {

struct BlockAnchors {
  at::Tensor anchors;  // [B, N] int64: kept anchors ascending first, then dropped blocks at 0
  at::Tensor keep;     // [B, N] bool
};

// [B, S - 1] bool: position i may anchor a block when it and the next
// token are both supervised (loss_mask > 0.5).
at::Tensor anchor_candidates(const at::Tensor& loss_mask);

// SpecForge's draw: N = min(num_anchors, the most candidates of any
// sample), at least 1; u = rand([B, S - 1]) from `generator`, 2 at
// non-candidates; each sample keeps its first min(count, N) positions of
// argsort(u), ascending, and pads with dropped blocks (anchor 0, keep
// false). Without replacement; a fresh draw per call.
BlockAnchors sample_anchors(const at::Tensor& loss_mask, std::int64_t num_anchors, at::Generator generator);

// [B, N * block_size] int64: block n is [input_ids[a_n], mask x (bs - 1)],
// a dropped block all mask.
at::Tensor block_input_ids(const at::Tensor& input_ids, const BlockAnchors& blocks, std::int64_t block_size,
                           std::int64_t mask_token_id);

// [B, N, width] int64: input_ids[a_n + offset + k] for k < width, the
// index clamped to S - 1 (labels: DFlash offset 0, DSpark 1), and whether
// a_n + offset + k < S.
struct BlockGather {
  at::Tensor ids;       // [B, N, width] int64
  at::Tensor in_range;  // [B, N, width] bool
  at::Tensor index;     // [B, N, width] int64: the clamped positions read
};
BlockGather gather_block_tokens(const at::Tensor& input_ids, const at::Tensor& anchors, std::int64_t offset,
                                std::int64_t width);

}  // namespace talon::model
