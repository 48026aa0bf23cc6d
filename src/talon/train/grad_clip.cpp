#include "talon/train/grad_clip.h"

#include <ATen/ATen.h>

#include <cmath>

namespace talon::train {

double clip_grad_norm(const std::vector<at::Tensor>& tensors, double max_norm) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> grads, norms;
  for (const at::Tensor& t : tensors) {
    if (!t.grad().defined()) continue;
    grads.push_back(t.grad());
    norms.push_back(at::linalg_vector_norm(t.grad(), 2, c10::nullopt, false, at::kFloat));  // fp32 []
  }
  if (grads.empty()) return 0.0;
  at::Tensor total = at::linalg_vector_norm(at::stack(norms), 2);  // fp32 []
  const double norm = total.item<double>();
  if (!std::isfinite(norm)) return norm;
  at::Tensor coef = at::clamp_max(max_norm / (total + 1e-6), 1.0);  // fp32 [], as PyTorch rounds it
  if (coef.item<double>() < 1.0) {
    for (at::Tensor& g : grads) g.mul_(coef);
  }
  return norm;
}

}  // namespace talon::train
