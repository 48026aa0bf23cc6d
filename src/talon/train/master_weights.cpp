#include "talon/train/master_weights.h"

#include <ATen/ATen.h>

#include "talon/util/error.h"

namespace talon::train {

namespace {

bool is_shared(const at::Tensor& param, const at::Tensor& master) {
  return param.unsafeGetTensorImpl() == master.unsafeGetTensorImpl();
}

}  // namespace

MasterWeights::MasterWeights(NamedTensors params) : params_(std::move(params)) {
  at::NoGradGuard no_grad;
  for (const auto& [name, p] : params_) {
    if (!p.defined() || !at::isFloatingType(p.scalar_type())) {
      fail("master weights: parameter '{}' must be a floating-point tensor, found {}", name,
           p.defined() ? c10::toString(p.scalar_type()) : "undefined");
    }
    masters_.emplace_back(name, p.scalar_type() == at::kFloat ? p : p.detach().to(at::kFloat));
  }
}

void MasterWeights::gather_grads() {
  at::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const at::Tensor& p = params_[i].second;
    at::Tensor& m = masters_[i].second;
    if (is_shared(p, m)) continue;
    const at::Tensor& g = p.grad();
    if (!g.defined()) {
      m.mutable_grad().reset();
    } else if (m.grad().defined()) {
      m.mutable_grad().copy_(g);
    } else {
      m.mutable_grad() = g.to(at::kFloat);
    }
  }
}

void MasterWeights::copy_to_params() {
  at::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const at::Tensor& p = params_[i].second;
    const at::Tensor& m = masters_[i].second;
    if (!is_shared(p, m)) p.detach().copy_(m);
  }
}

void MasterWeights::zero_grads() {
  for (std::size_t i = 0; i < params_.size(); ++i) {
    params_[i].second.mutable_grad().reset();
    masters_[i].second.mutable_grad().reset();
  }
}

}  // namespace talon::train
