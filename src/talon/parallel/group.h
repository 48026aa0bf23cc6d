// A process group: the ranks that run a collective together. A default
// Group is this process alone, where every collective is the identity, so
// single-process code runs the same calls with no store and no sockets.
// Gloo groups take CPU tensors, NCCL groups CUDA tensors. A failing
// collective throws talon::Error naming the group and, when one has
// stopped, the dead rank (process_groups.h).
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

namespace talon::parallel {

enum class ReduceOp { Sum, Max, Min };

class Group {
 public:
  Group() = default;

  int rank() const;   // this process's index in the group
  int size() const;
  const std::string& name() const;  // "world", "draft-tp", ... for messages

  // In place; t must be contiguous.
  void all_reduce(const at::Tensor& t, ReduceOp op = ReduceOp::Sum) const;
  // Every member's t (same shape and dtype on all), in group-rank order.
  std::vector<at::Tensor> all_gather(const at::Tensor& t) const;
  // t [size * n, ...], the same shape on every member: block rank() of the
  // sum over members, [n, ...].
  at::Tensor reduce_scatter(const at::Tensor& t) const;
  // root's t into every member's t, in place; root is a group rank.
  void broadcast(const at::Tensor& t, int root) const;
  void barrier() const;

  struct Impl;  // group_impl.h: the c10d backend behind a group of two or more
  explicit Group(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<const Impl> impl_;
};

}  // namespace talon::parallel
