#include "talon/parallel/tensor_parallel.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <limits>

#include "talon/util/custom_backward.h"

namespace talon::parallel {
namespace {

at::ScalarType at_least_fp32(at::ScalarType type) { return at::promote_types(type, at::kFloat); }

}  // namespace

at::Tensor copy_to_tp(const at::Tensor& x, const Group& group) {
  if (group.size() == 1) return x;
  auto backward = [group](const std::vector<at::Tensor>& grads) {
    at::Tensor grad = grads[0].contiguous().clone();
    group.all_reduce(grad);
    return std::vector<at::Tensor>{grad};
  };
  return util::with_backward({x}, {x}, "talon::CopyToTpBackward", backward)[0];  // a detached alias of x
}

at::Tensor reduce_from_tp(const at::Tensor& x, const Group& group) {
  if (group.size() == 1) return x;
  at::Tensor sum = x.detach().contiguous().clone();
  group.all_reduce(sum);
  auto backward = [](const std::vector<at::Tensor>& grads) { return grads; };
  return util::with_backward({sum}, {x}, "talon::ReduceFromTpBackward", backward)[0];
}

at::Tensor vocab_parallel_embedding(const at::Tensor& table_shard, const at::Tensor& ids, const Group& group) {
  at::NoGradGuard no_grad;
  if (group.size() == 1) return at::embedding(table_shard, ids);
  const std::int64_t rows = table_shard.size(0), first = group.rank() * rows;
  at::Tensor local = ids - first;
  at::Tensor outside = (local < 0).logical_or(local >= rows);
  at::Tensor out = at::embedding(table_shard, local.masked_fill(outside, 0)).masked_fill(outside.unsqueeze(-1), 0);
  group.all_reduce(out);
  return out;
}

at::Tensor combine_argmax(const at::Tensor& value, const at::Tensor& index, const Group& group) {
  if (group.size() == 1) return index;
  at::Tensor best = value.to(at_least_fp32(value.scalar_type())).contiguous();  // exact: a widening cast
  at::Tensor mine = best.clone();
  group.all_reduce(best, ReduceOp::Max);
  at::Tensor candidate = at::where(mine == best, index, at::full_like(index, std::numeric_limits<std::int64_t>::max()))
                             .contiguous();
  group.all_reduce(candidate, ReduceOp::Min);
  return candidate;
}

at::Tensor vocab_parallel_argmax(const at::Tensor& values, const Group& group) {
  at::NoGradGuard no_grad;
  auto [value, index] = values.max(-1);  // the first index on ties within the block
  return combine_argmax(value, index + group.rank() * values.size(-1), group);
}

at::Tensor vocab_parallel_softmax(const at::Tensor& logits, const Group& group) {
  at::NoGradGuard no_grad;
  at::Tensor x = logits.to(at_least_fp32(logits.scalar_type()));
  at::Tensor max = x.amax(-1, /*keepdim=*/true).contiguous();
  group.all_reduce(max, ReduceOp::Max);
  at::Tensor e = at::exp(x - max);
  at::Tensor sum = e.sum(-1, /*keepdim=*/true).contiguous();
  group.all_reduce(sum);
  return e / sum;
}

at::Tensor vocab_parallel_soft_cross_entropy(const at::Tensor& logits, const at::Tensor& p, const at::Tensor& weight,
                                             const Group& group) {
  at::Tensor loss, softmax, p_sum;
  {
    at::NoGradGuard no_grad;
    at::Tensor x = logits.detach().to(at_least_fp32(logits.scalar_type()));
    at::Tensor max = x.amax(-1, /*keepdim=*/true).contiguous();
    group.all_reduce(max, ReduceOp::Max);
    at::Tensor shifted = x - max;  // <= 0 everywhere: well scaled for the sums below
    at::Tensor e = at::exp(shifted);
    // Per row, over the whole vocabulary: S = sum exp, A = sum p (x - max), P = sum p.
    at::Tensor sums = at::stack({e.sum(-1), (p * shifted).sum(-1), p.sum(-1)}).contiguous();
    group.all_reduce(sums);
    at::Tensor log_sum = at::log(sums[0]);
    p_sum = sums[2];
    // -sum_v p (shifted_v - log S) = P log S - A
    loss = (weight * (p_sum * log_sum - sums[1])).sum();
    softmax = e / sums[0].unsqueeze(-1);
  }
  auto backward = [softmax, p, weight, p_sum, dtype = logits.scalar_type()](const std::vector<at::Tensor>& grads) {
    at::Tensor scale = weight.to(softmax.scalar_type()).unsqueeze(-1) * grads[0];  // grads[0] is 0-dim: keep the wide type
    return std::vector<at::Tensor>{(scale * (p_sum.unsqueeze(-1) * softmax - p)).to(dtype)};
  };
  return util::with_backward({loss}, {logits}, "talon::VocabParallelSoftCrossEntropyBackward", backward)[0];
}

}  // namespace talon::parallel
