// Clipping by the global L2 norm of all gradients (brief §2), as
// torch.nn.utils.clip_grad_norm_ computes it: per-tensor norms in fp32, the
// norm of those, coef = min(1, max_norm / (norm + 1e-6)) in fp32. Split in
// two so that a norm over tensors spread across ranks can be summed in
// between (DraftOptimizer): clip_to_norm(t, grad_norm_squared(t), max_norm)
// is clip_grad_norm_ in one process.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace talon::train {

// sum of ||t.grad()||^2 over the tensors with a defined grad, each norm
// taken in fp32: an fp32 [] tensor on their device (0 when there is none).
at::Tensor grad_norm_squared(const std::vector<at::Tensor>& tensors);

// Scales every defined tensors[i].grad() in place by coef when coef < 1,
// with norm = sqrt(norm_squared), and returns the norm. A non-finite norm is
// returned with the grads untouched: the caller skips that step. max_norm 0
// clips nothing (Hugging Face Trainer's meaning of max_grad_norm 0).
double clip_to_norm(const std::vector<at::Tensor>& tensors, const at::Tensor& norm_squared, double max_norm);

}  // namespace talon::train
