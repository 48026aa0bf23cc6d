// What the draft's loss needs of the target's next-token distribution
// (brief §2, "Alignment" and TTT step 7). Row t describes position t + 1:
// the target logits z are shifted left by one, and past the end z = 0.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace talon::model {

// The draft vocabulary as the checkpoint stores it.
struct DraftVocab {
  at::Tensor d2t;  // [Vd] int64: target id of draft index i = i + d2t[i]
  at::Tensor t2d;  // [V] bool: target id is in the draft vocabulary
  at::Tensor target_ids() const;  // [Vd] int64, ascending
};

struct TargetDistribution {
  // [B, L, Vd] fp32 (fp64 for an fp64 target): softmax of z[t+1] restricted to the draft vocabulary
  // (ascending target id = draft index, no temperature); the last row is
  // uniform, the softmax of z = 0.
  at::Tensor probs;
  // [B, L] fp32: t2d[argmax z[t+1]], the argmax over the full vocabulary
  // (first index on ties); the last row is t2d[0].
  at::Tensor in_draft;
};

// hidden: [B, L, H] final-normed last target hidden state; lm_head [V, H].
// Only the Vd draft rows of lm_head produce probabilities; the full-vocab
// argmax runs over chunks of `vocab_chunk` rows, so no [L, V] tensor exists.
TargetDistribution target_distribution(const at::Tensor& hidden, const at::Tensor& lm_head, const DraftVocab& vocab,
                                       std::int64_t vocab_chunk = 16384);

// argmax over v of hidden[n] . lm_head[v] (first index on ties), computed
// over vocabulary chunks: [N, H] x [V, H] -> [N] int64.
at::Tensor chunked_argmax(const at::Tensor& hidden, const at::Tensor& lm_head, std::int64_t vocab_chunk);

}  // namespace talon::model
