// Training-time test (brief §2): the draft unrolled for T steps, each step
// reading the previous step's hidden state and the next input token, with
// a soft cross-entropy against the target's distribution per step.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "talon/model/eagle3/eagle3_draft.h"
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

// How a step is computed; every choice gives the same values (up to
// rounding). The defaults keep activation memory linear in L (brief §5);
// plain() is the direct form of the core algorithm, the reference for tests
// and benchmarks.
struct TttOptions {
  bool blockwise_attention = true;  // false: [L, L] scores (ttt_attention_reference)
  std::int64_t head_chunk = 1024;   // positions per chunk of head and loss (ttt_head.h); 0: all at once
  bool recompute = true;            // rerun the decoder layer in the backward pass instead of keeping its activations
  static TttOptions plain() { return {false, 0, false}; }
};

// The loss is divided by the padded size B * L (brief §2 step 8), not by
// the number of supervised positions; callers divide by the number of
// accumulated micro-batches.
TttOutput ttt_forward(const Eagle3Draft& draft, const TttBatch& batch, int ttt_length,
                      const TttOptions& options = {});

// The decoder layer's output h_s [B, L, H] of each step s < ttt_length
// (final-normed with norm_output, EAGLE-3.1: what the next step reads).
// h_s at index t is the draft after the verified positions 0..t and the s
// tokens input_ids[t + 2 .. t + s + 1] drafted after them: what the
// decoder (draft_decoder.h) computes there, and what step s's loss scores.
std::vector<at::Tensor> ttt_hidden_states(const Eagle3Draft& draft, const at::Tensor& input_ids, const at::Tensor& aux,
                                          const at::Tensor& lengths, int ttt_length, const TttOptions& options = {});

// x shifted left by `steps` along dim 1, filled with `fill`.
at::Tensor shift_left(const at::Tensor& x, std::int64_t steps, double fill = 0);

}  // namespace talon::model
