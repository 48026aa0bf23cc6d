// The draft at inference, as SGLang runs an EAGLE-3 draft: each position's
// hidden input is fc(the target's aux layers) where the target has verified
// the token, or the draft's own h from the previous draft step, paired with
// the embedding of the token that follows; its keys and values stay in a
// KvCache (one layer). Training's TTT steps are this with the cache replaced
// by the step-s attention pattern.
#pragma once

#include <ATen/core/Tensor.h>

#include "talon/model/eagle3/eagle3_draft.h"
#include "talon/model/kv_cache.h"

namespace talon::model {

struct DraftStep {
  at::Tensor hidden;  // h [B, n, H]: the next draft step's h_in (norm(h) with norm_output)
  at::Tensor logits;  // lm_head(norm(h)) [B, n, Vd]
};

// h_in [B, n, H] and input_ids [B, n] at RoPE positions `positions` (int64
// [B, n]), attending to the T cached positions and to themselves where
// `mask` (bool [B, n, T + n]) allows, as TargetModel::extend. Appends to
// `cache`. No autograd; the whole draft (no draft TP).
DraftStep draft_extend(const Eagle3Draft& draft, const at::Tensor& h_in, const at::Tensor& input_ids,
                       const at::Tensor& positions, const at::Tensor& mask, KvCache& cache);

// The first step, into an empty `cache`: positions 0..n-1 with causal
// attention (fused, no [n, n] mask), as TargetModel::prefill.
DraftStep draft_prefill(const Eagle3Draft& draft, const at::Tensor& h_in, const at::Tensor& input_ids,
                        KvCache& cache);

}  // namespace talon::model
