// Training-time test (brief §2): the draft unrolled for T steps, each step
// reading the previous step's hidden state and the next input token, with
// a soft cross-entropy against the target's distribution per step.
#pragma once

#include <ATen/core/Tensor.h>

#include "talon/model/eagle3_draft.h"
#include "talon/model/target_distribution.h"

namespace talon::model {

// One micro-batch, on the draft's device, right-padded.
struct TttBatch {
  at::Tensor input_ids;  // [B, L] int64, unshifted
  at::Tensor loss_mask;  // [B, L] fp32, unshifted
  at::Tensor lengths;    // [B] int64 real lengths
  at::Tensor aux;        // [B, L, 3 * target_hidden]: the target's three layers
  TargetDistribution target;
};

struct TttOutput {
  at::Tensor loss;        // sum_s 0.8^s loss_s: the value to differentiate
  at::Tensor ploss;       // [T] loss_s, detached
  at::Tensor correct;     // [T] sum_t pm_s[t] * [argmax logits == argmax p], detached
  at::Tensor supervised;  // [T] sum_t loss_mask_s[t]; acc_s = correct / max(supervised, 1e-6)
};

// The loss is divided by the padded size B * L (brief §2 step 8), not by
// the number of supervised positions; callers divide by the number of
// accumulated micro-batches.
TttOutput ttt_forward(const Eagle3Draft& draft, const TttBatch& batch, int ttt_length);

// x shifted left by `steps` along dim 1, filled with `fill`.
at::Tensor shift_left(const at::Tensor& x, std::int64_t steps, double fill = 0);

}  // namespace talon::model
