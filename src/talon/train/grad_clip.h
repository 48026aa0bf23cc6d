// Clipping by the global L2 norm of all gradients (brief §2), as
// torch.nn.utils.clip_grad_norm_ computes it: per-tensor norms in fp32, the
// norm of those, coef = min(1, max_norm / (norm + 1e-6)) in fp32.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace talon::train {

// Scales every defined tensors[i].grad() in place by coef when coef < 1 and
// returns the norm before clipping (0 when no grad is defined). A non-finite
// norm is returned with the grads untouched: the caller skips that step.
double clip_grad_norm(const std::vector<at::Tensor>& tensors, double max_norm);

}  // namespace talon::train
