// DSpark's training objective (design dflash-dspark.md §3.2, DeepSpec slot
// convention): slot k of a block anchored at a predicts input_ids[a + k + 1],
// every slot scored, with the Markov head teacher-forced on the data
// tokens. Per slot: cross-entropy to the data token, L1 distance (2 TV) to
// the target's distribution softmax(lm_head(z[a + k])) from its post-norm
// final hidden state z, and the confidence head's BCE to the acceptance
// rate a* = clamp(1 - L1 / 2, 0, 1); all weighted by a prefix-cut mask
// decayed along the block.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "talon/model/block/anchors.h"
#include "talon/model/dspark/markov_head.h"

namespace talon::model {

struct DSparkTargets {
  at::Tensor labels;        // [B, N, bs] int64: input_ids[a + k + 1], index clamped to S - 1 (0 for dropped blocks)
  at::Tensor previous;      // [B, N, bs] int64: the token before each slot, input_ids[a] then labels[.., :-1]
  at::Tensor eval_mask;     // [B, N, bs] fp64: prod_{j<=k} keep [a + j + 1 < S] [loss_mask[a + j + 1] > 0.5]
  at::Tensor weights;       // [B, N, bs] fp64: eval_mask * exp(-k / gamma), or eval_mask without decay
  at::Tensor target_index;  // [B, N, bs] int64: the row of z that predicts each label, label index - 1 (>= 0)
};

// decay_gamma: DeepSpec's recipe 4.0; nullopt (or <= 0): no decay.
DSparkTargets dspark_targets(const at::Tensor& input_ids, const at::Tensor& loss_mask, const BlockAnchors& blocks,
                             std::int64_t block_size, std::optional<double> decay_gamma);

struct DSparkObjectiveOptions {
  double ce_alpha = 0.1;
  double l1_alpha = 0.9;
  double confidence_alpha = 1.0;    // 0, or a config without the confidence head: no confidence term
  std::int64_t chunk_blocks = 128;  // blocks per chunk of the objective (block_chunks.h); 0: all at once
};

// Additive over micro-batches and ranks (the trainer forms the loss with
// dspark_loss over the micro-step's rank-global denominator).
struct DSparkTerms {
  at::Tensor ce, l1, confidence;  // differentiable: sum w * CE, sum w * L1, sum w * BCE
  at::Tensor denominator;         // sum w
  at::Tensor accept_rate;         // [bs]: sum a* e, per slot (DeepSpec's accept_rate@k numerators)
  at::Tensor evaluated;           // [bs]: sum e, per slot
  at::Tensor correct;             // [bs]: sum [argmax == label] e, per slot
  at::Tensor tau;                 // sum over valid blocks of 1 + sum_k prod_{j<=k} a*_j e_j (tau_probabilistic)
  at::Tensor blocks;              // valid blocks: kept, with some slot evaluated
};

// hidden [B, N * bs, H] the backbone's output; lm_head [V, H] the target's;
// final_hidden [B, S, H] the target's post-norm last hidden state.
DSparkTerms dspark_objective(const at::Tensor& hidden, const at::Tensor& lm_head, const at::Tensor& final_hidden,
                             const MarkovHead& head, const DSparkTargets& targets,
                             const DSparkObjectiveOptions& options);

// DeepSpec's loss of one micro-step from its terms and the denominator
// summed over the ranks: sum_t alpha_t * term_t / (denominator + 1e-6).
at::Tensor dspark_loss(const DSparkTerms& terms, const at::Tensor& denominator, const DSparkObjectiveOptions& options);

}  // namespace talon::model
