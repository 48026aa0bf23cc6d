// What the draft's loss needs of the target's next-token distribution
// (brief §2, "Alignment" and TTT step 7). Row t describes position t + 1:
// the target logits z are shifted left by one, and past the end z = 0.
// Probabilities are formed a block of rows at a time from the target's
// final hidden state and the Vd draft rows of its lm_head, so neither
// [L, Vd] probabilities nor [L, V] logits need exist for a whole sequence.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "talon/parallel/group.h"

namespace talon::model {

// The draft vocabulary as the checkpoint stores it.
struct DraftVocab {
  at::Tensor d2t;  // [Vd] int64: target id of draft index i = i + d2t[i]
  at::Tensor t2d;  // [V] bool: target id is in the draft vocabulary
  at::Tensor target_ids() const;  // [Vd] int64, ascending
};

struct TargetDistribution {
  at::Tensor hidden;      // [B, L, Ht]: the target's final-normed last hidden state, unshifted
  // [Vd, Ht]: the lm_head rows of the draft vocabulary, ascending target id;
  // under draft tensor parallelism this member's block of Vd / tp of them.
  at::Tensor draft_head;
  // [B, L] fp32: t2d[argmax z[t+1]], the argmax over the full vocabulary
  // (first index on ties); the last row is t2d[0].
  at::Tensor in_draft;

  // Rows [first, first + count) of p, [B, count, Vd] at least fp32: row t is
  // softmax(z[t+1]) over the draft vocabulary (no temperature); rows with
  // t + 1 >= L are uniform, the softmax of z = 0. `first` may exceed L.
  // Over the draft-TP group `tp`: this member's block of the columns, the
  // softmax taken over all of them.
  at::Tensor probs(std::int64_t first, std::int64_t count, const parallel::Group& tp = {}) const;
};

// hidden: [B, L, Ht] final-normed last target hidden state; lm_head [V, Ht]
// or, over the target-TP group `target_tp`, this member's vocabulary rows;
// draft_head: rows of vocab.target_ids() (draft_head_rows()).
TargetDistribution target_distribution(const at::Tensor& hidden, const at::Tensor& lm_head,
                                       const at::Tensor& draft_head, const DraftVocab& vocab,
                                       const parallel::Group& target_tp = {});

// lm_head's rows of the draft vocabulary, [Vd, Ht], on lm_head's device.
at::Tensor draft_head_rows(const at::Tensor& lm_head, const DraftVocab& vocab);

// argmax over v of hidden[n] . lm_head[v] (first index on ties): [N, H] x
// [V, H] -> [N] int64, over blocks of at most `rows` x `vocab_chunk` logits;
// 0 for both sizes the block to the work (argmax_block). Over a
// vocab-parallel group, lm_head is this member's rows and the index is over
// the whole vocabulary.
at::Tensor chunked_argmax(const at::Tensor& hidden, const at::Tensor& lm_head, std::int64_t vocab_chunk = 0,
                          std::int64_t rows = 0, const parallel::Group& group = {});

// The block chunked_argmax uses for N rows of width H: up to 2048 rows by
// 16384 logits, but at most 8 N H logits, so that the block never dwarfs
// the hidden states it comes from (2048 x 16384 fp32 logits are 134 MB,
// more than a whole training step of a small model at a few thousand
// tokens), and at least 2^20 logits, which keep the products efficient.
struct ArgmaxBlock {
  std::int64_t rows, vocab_chunk;
};
ArgmaxBlock argmax_block(std::int64_t rows, std::int64_t hidden);

}  // namespace talon::model
