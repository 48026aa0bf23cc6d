// The draft's head and loss for one TTT step (brief §2 steps 6-9): logits
// = lm_head(norm(h)), the soft cross-entropy against the target's p scaled
// by the position mask and divided by B * L, and the accuracy numerator.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "talon/model/eagle3/eagle3_draft.h"
#include "talon/model/target_distribution.h"

namespace talon::model {

struct StepLoss {
  at::Tensor loss;     // -sum_{t,v} pm[t] p[t,v] log_softmax(logits)[t,v] / (B * L), at least fp32
  at::Tensor correct;  // sum_t pm[t] [argmax logits[t] == argmax p[t]], detached
};

// hidden [B, L, H]: the step's decoder output; position_mask pm_s [B, L];
// row t is scored against the target's p row t + step. chunk > 0: `chunk`
// positions at a time through a custom autograd function, which recomputes
// a chunk's logits and forms its gradients inside the chunk in the backward
// pass, so memory is O(B * chunk * Vd) rather than O(B * L * Vd). chunk = 0:
// the whole sequence at once under plain autograd (the reference).
StepLoss step_loss(const Eagle3Draft& draft, const at::Tensor& hidden, const TargetDistribution& target,
                   std::int64_t step, const at::Tensor& position_mask, std::int64_t chunk);

}  // namespace talon::model
