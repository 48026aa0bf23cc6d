// Tensor parallelism as Megatron-LM lays it out: a few operators at the
// borders of column- and row-parallel layers, and vocabulary-parallel
// embedding, argmax, softmax and soft cross-entropy that never gather the
// vocabulary dimension. With the default Group (one process) every operator
// is its plain single-process form, so model code calls them
// unconditionally and reads like the single-GPU model.
//
// Vocabulary-parallel tensors hold a contiguous block of the vocabulary:
// member r of a group of n holds rows (or columns) [r * Vl, (r + 1) * Vl)
// of the V = n * Vl total.
#pragma once

#include <ATen/core/Tensor.h>

#include "talon/parallel/group.h"

namespace talon::parallel {

// x on its way into column-parallel layers: identity forward; backward
// all-reduces the gradient, which each member formed from its columns only.
at::Tensor copy_to_tp(const at::Tensor& x, const Group& group);
// The partial output of a row-parallel layer: forward all-reduces it (sum);
// backward passes the gradient through, every member needing all of it.
at::Tensor reduce_from_tp(const at::Tensor& x, const Group& group);

// Embedding lookup from this member's rows [V/n, H] of the table: ids
// outside them contribute zero, and the all-reduce fills them in. ids any
// shape of int64; returns [ids..., H]. No gradient (frozen tables).
at::Tensor vocab_parallel_embedding(const at::Tensor& table_shard, const at::Tensor& ids, const Group& group);

// Index over the whole vocabulary of the largest value of each row, the
// first on ties (torch.argmax): values [..., Vl] -> int64 [...].
at::Tensor vocab_parallel_argmax(const at::Tensor& values, const Group& group);
// The same from each member's own (value, index) of its block: the largest
// value wins, the lowest index among equal values. Both [...]; index global.
at::Tensor combine_argmax(const at::Tensor& value, const at::Tensor& index, const Group& group);

// softmax over the whole vocabulary, this member's block of it: logits
// [..., Vl] -> [..., Vl] in at least fp32. No gradient.
at::Tensor vocab_parallel_softmax(const at::Tensor& logits, const Group& group);

// sum_rows weight[row] * (-sum_v p[row, v] * log_softmax(logits)[row, v])
// with the softmax and the sums over the whole vocabulary; logits [..., Vl]
// (differentiable), p [..., Vl] and weight [...] constants. Returns a
// scalar in at least fp32, the same on every member. The gradient of the
// logits is weight * (sum_v p * softmax - p), formed from the statistics of
// the forward pass without another collective.
at::Tensor vocab_parallel_soft_cross_entropy(const at::Tensor& logits, const at::Tensor& p, const at::Tensor& weight,
                                             const Group& group);

}  // namespace talon::parallel
