// Which block of a weight a tensor-parallel member holds (Megatron's
// layout): column-parallel weights [out, in] are split along dim 0 by whole
// units (attention heads, MLP rows, vocabulary rows), row-parallel ones
// along dim 1, and the rest (norms, fc, biases added after a reduction) are
// replicated. When a group has more members than a weight has kv heads,
// each kv head is replicated over size / kv_heads consecutive members, as
// in Megatron and vLLM; those replicas each see only the gradient of their
// own query heads, so their gradients are summed (reduce_partial_grad).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "talon/parallel/group.h"

namespace talon::parallel {

// How a weight may be split: along `dim` into blocks of whole units.
struct Split {
  int dim = -1;                // -1: replicated
  std::int64_t units = 1;      // heads, rows or columns along dim
  bool replicas_allowed = false;  // kv heads: a member count that is a multiple of `units` replicates them
  std::string what;            // for errors: "num_key_value_heads of the target", ...

  static Split none() { return {}; }
};

struct TpShard {
  int dim = -1;
  std::int64_t parts = 1;  // distinct blocks; 1 means replicated
  std::int64_t index = 0;  // the block this member holds
  bool partial_grads = false;

  // The shard of member `rank` of `size`. An impossible split is an error
  // naming `flag` (e.g. "--draft-tp-size") and split.what.
  static TpShard of(const Split& split, int rank, int size, const std::string& flag);

  // This member's block of the full tensor (a view).
  at::Tensor slice(const at::Tensor& full) const;
  // The full tensor from every member's block, on every member.
  at::Tensor gather(const at::Tensor& local, const Group& group) const;
  // True on the first member holding this block: it alone counts the block
  // in global norms.
  bool primary(const Group& group) const;
  // With partial_grads: grad becomes the sum over the members holding the
  // same block. Otherwise nothing.
  void reduce_partial_grad(at::Tensor& grad, const Group& group) const;
};

}  // namespace talon::parallel
