#include "talon/train/grad_clip.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

namespace talon::train {

at::Tensor grad_norm_squared(const std::vector<at::Tensor>& tensors) {
  at::NoGradGuard no_grad;
  at::Tensor total;
  for (const at::Tensor& t : tensors) {
    if (!t.grad().defined()) continue;
    at::Tensor norm = at::linalg_vector_norm(t.grad(), 2, c10::nullopt, false, at::kFloat);  // fp32 []
    total = total.defined() ? total + norm * norm : norm * norm;
  }
  return total.defined() ? total : at::zeros({}, at::kFloat);
}

double clip_to_norm(const std::vector<at::Tensor>& tensors, const at::Tensor& norm_squared, double max_norm) {
  at::NoGradGuard no_grad;
  at::Tensor total = at::sqrt(norm_squared);
  const double norm = total.item<double>();
  if (!std::isfinite(norm) || max_norm == 0) return norm;
  at::Tensor coef = at::clamp_max(max_norm / (total + 1e-6), 1.0);  // fp32 [], as PyTorch rounds it
  if (coef.item<double>() < 1.0) {
    for (const at::Tensor& t : tensors) {
      if (t.grad().defined()) t.grad().mul_(coef.to(t.grad().device()));
    }
  }
  return norm;
}

}  // namespace talon::train
