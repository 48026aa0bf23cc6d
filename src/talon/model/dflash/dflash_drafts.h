// DFlash's drafts of one decoding round (design dflash-dspark.md §2.4):
// slot k >= 1 of the block proposes argmax lm_head(h_k), B - 1 drafts. SGLang
// drafts greedily at every temperature (point-mass drafts).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace talon::model {

// hidden [bs, H]: the block's final-normed states; lm_head [V, H], the target's.
std::vector<std::int64_t> dflash_drafts(const at::Tensor& lm_head, const at::Tensor& hidden);

}  // namespace talon::model
