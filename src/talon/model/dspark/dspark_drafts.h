// DSpark's drafts of one decoding round (design dflash-dspark.md §3.4):
// gamma drafts in sequence through the Markov head, prev = x0, then
// d_k = argmax(lm_head(h_k) + bias(prev)) and prev = d_k (the rnn head's
// state carried along). Greedy: the confidence scheduler is off, as in the
// paper's Table 1.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "talon/model/dspark/markov_head.h"

namespace talon::model {

// hidden [gamma, H]: the block's final-normed states; lm_head [V, H] the
// target's; anchor: x0, the block's first token.
std::vector<std::int64_t> dspark_drafts(const at::Tensor& lm_head, const MarkovHead& head, const at::Tensor& hidden,
                                        std::int64_t anchor);

}  // namespace talon::model
