#include "talon/parallel/tp_shard.h"

#include <ATen/ATen.h>

#include "talon/util/error.h"

namespace talon::parallel {
namespace {

std::int64_t block_of(std::int64_t rank, std::int64_t parts, std::int64_t size) { return rank * parts / size; }

}  // namespace

TpShard TpShard::of(const Split& split, int rank, int size, const std::string& flag) {
  TpShard shard;
  if (split.dim < 0 || size == 1) return shard;
  shard.dim = split.dim;
  if (split.units % size == 0) {
    shard.parts = size;
  } else if (split.replicas_allowed && size % split.units == 0) {
    shard.parts = split.units;
    shard.partial_grads = true;
  } else if (split.replicas_allowed) {
    fail("{} {}: the {} ({}) must be a multiple or a divisor of it", flag, size, split.what, split.units);
  } else {
    fail("{} {} does not divide the {} ({})", flag, size, split.what, split.units);
  }
  shard.index = block_of(rank, shard.parts, size);
  return shard;
}

at::Tensor TpShard::slice(const at::Tensor& full) const {
  if (parts == 1) return full;
  const std::int64_t block = full.size(dim) / parts;
  return full.narrow(dim, index * block, block);
}

at::Tensor TpShard::gather(const at::Tensor& local, const Group& group) const {
  if (parts == 1) return local;
  std::vector<at::Tensor> all = group.all_gather(local);
  std::vector<at::Tensor> blocks;
  for (int r = 0; r < group.size(); ++r) {
    if (r == 0 || block_of(r, parts, group.size()) != block_of(r - 1, parts, group.size())) blocks.push_back(all[r]);
  }
  return at::cat(blocks, dim);
}

bool TpShard::primary(const Group& group) const {
  const int r = group.rank();
  return r == 0 || block_of(r, parts, group.size()) != block_of(r - 1, parts, group.size());
}

void TpShard::reduce_partial_grad(at::Tensor& grad, const Group& group) const {
  if (!partial_grads) return;
  std::vector<at::Tensor> all = group.all_gather(grad);
  at::Tensor sum;
  for (int r = 0; r < group.size(); ++r) {
    if (block_of(r, parts, group.size()) != index) continue;
    sum = sum.defined() ? sum + all[r] : all[r];
  }
  grad.copy_(sum);
}

}  // namespace talon::parallel
