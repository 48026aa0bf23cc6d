// ZeRO-2's partition of one tensor over a data-parallel group: flattened,
// padded with zeros to size * chunk elements, member r owning elements
// [r * chunk, (r + 1) * chunk). Gradients are reduce-scattered into the
// owned chunk, the optimizer keeps master weights and moments for it alone,
// and the whole tensor is all-gathered after the step.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "talon/parallel/group.h"

namespace talon::parallel {

class Zero2Partition {
 public:
  // The partition of tensors shaped like `like`, on its device.
  Zero2Partition(const at::Tensor& like, const Group& dp);

  std::int64_t chunk() const { return chunk_; }
  // This member's chunk of a whole tensor of the partitioned shape, [chunk].
  at::Tensor own(const at::Tensor& whole) const;
  // The sum over members of `grad` (this member's whole gradient; undefined
  // counts as zeros), this member's chunk of it, fp32 [chunk].
  at::Tensor reduce_scatter(const at::Tensor& grad) const;
  // Every member's chunk put together: the whole tensor, in shape.
  at::Tensor all_gather(const at::Tensor& chunk) const;

 private:
  at::Tensor padded(const at::Tensor& whole) const;  // flat [size * chunk]

  std::vector<std::int64_t> shape_;
  std::int64_t numel_, chunk_;
  at::TensorOptions fp32_;  // on the partitioned tensor's device
  Group dp_;
};

}  // namespace talon::parallel
