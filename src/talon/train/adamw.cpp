#include "talon/train/adamw.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <map>
#include <set>

#include "talon/util/error.h"

namespace talon::train {

namespace {

std::string shape_of(const at::Tensor& t) {
  std::string s = "[";
  for (std::int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

}  // namespace

AdamW::AdamW(NamedTensors params, AdamWOptions options) : params_(std::move(params)), options_(options) {
  const AdamWOptions& o = options_;
  if (!(o.beta1 >= 0 && o.beta1 < 1)) fail("AdamW: beta1 must be in [0, 1), found {}", o.beta1);
  if (!(o.beta2 >= 0 && o.beta2 < 1)) fail("AdamW: beta2 must be in [0, 1), found {}", o.beta2);
  if (!(o.eps >= 0)) fail("AdamW: eps must be >= 0, found {}", o.eps);
  if (!(o.weight_decay >= 0)) fail("AdamW: weight_decay must be >= 0, found {}", o.weight_decay);
  std::set<std::string> seen;
  for (const auto& [name, p] : params_) {
    if (!seen.insert(name).second) fail("AdamW: parameter name '{}' appears twice", name);
    if (!p.defined()) fail("AdamW: parameter '{}' is undefined", name);
    if (p.scalar_type() != at::kFloat) {
      fail("AdamW: parameter '{}' must be float32 (the fp32 master), found {}", name, c10::toString(p.scalar_type()));
    }
    exp_avg_.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
    exp_avg_sq_.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
  }
}

void AdamW::step(double lr) {
  at::NoGradGuard no_grad;
  ++step_;
  const auto& [beta1, beta2, eps, weight_decay] = options_;
  // Python floats in PyTorch: computed in double, applied as scalars.
  const double t = static_cast<double>(step_);
  const double bias_correction1 = 1 - std::pow(beta1, t);
  const double bias_correction2 = 1 - std::pow(beta2, t);
  const double step_size = lr / bias_correction1;
  const double bias_correction2_sqrt = std::sqrt(bias_correction2);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const auto& [name, p] = params_[i];
    const at::Tensor& g = p.grad();
    if (!g.defined()) continue;
    if (g.scalar_type() != p.scalar_type() || !g.sizes().equals(p.sizes())) {
      fail("AdamW: gradient of '{}' is {} {}, expected {} {}", name, c10::toString(g.scalar_type()), shape_of(g),
           c10::toString(p.scalar_type()), shape_of(p));
    }
    at::Tensor param = p.detach();
    if (weight_decay != 0) param.mul_(1 - lr * weight_decay);
    exp_avg_[i].lerp_(g, 1 - beta1);
    exp_avg_sq_[i].mul_(beta2).addcmul_(g, g, 1 - beta2);
    at::Tensor denom = (exp_avg_sq_[i].sqrt() / bias_correction2_sqrt).add_(eps);
    param.addcdiv_(exp_avg_[i], denom, -step_size);
  }
}

NamedTensors AdamW::state() const {
  NamedTensors out;
  out.reserve(1 + 2 * params_.size());
  out.emplace_back("step", at::scalar_tensor(step_, at::TensorOptions().dtype(at::kLong)));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back("exp_avg." + params_[i].first, exp_avg_[i]);
    out.emplace_back("exp_avg_sq." + params_[i].first, exp_avg_sq_[i]);
  }
  return out;
}

void AdamW::load_state(const NamedTensors& state) {
  std::map<std::string, const at::Tensor*> given;
  for (const auto& [name, t] : state) {
    if (!given.emplace(name, &t).second) fail("optimizer state: tensor '{}' appears twice", name);
  }
  // Check everything before changing anything.
  auto find = [&](const std::string& name, const at::Tensor& like) -> const at::Tensor& {
    auto it = given.find(name);
    if (it == given.end()) fail("optimizer state: tensor '{}' is missing", name);
    const at::Tensor& t = *it->second;
    if (!t.defined()) fail("optimizer state: tensor '{}' is undefined", name);
    if (t.scalar_type() != like.scalar_type() || !t.sizes().equals(like.sizes())) {
      fail("optimizer state: tensor '{}' is {} {}, expected {} {}", name, c10::toString(t.scalar_type()), shape_of(t),
           c10::toString(like.scalar_type()), shape_of(like));
    }
    return t;
  };
  const at::Tensor& step = find("step", at::scalar_tensor(0, at::TensorOptions().dtype(at::kLong)));
  const std::int64_t loaded_step = step.item<std::int64_t>();
  if (loaded_step < 0) fail("optimizer state: tensor 'step' is {}, expected a count >= 0", loaded_step);
  std::vector<const at::Tensor*> sources;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    sources.push_back(&find("exp_avg." + params_[i].first, exp_avg_[i]));
    sources.push_back(&find("exp_avg_sq." + params_[i].first, exp_avg_sq_[i]));
  }
  if (given.size() != 1 + sources.size()) {
    std::set<std::string> expected{"step"};
    for (const auto& [name, p] : params_) expected.insert({"exp_avg." + name, "exp_avg_sq." + name});
    for (const auto& [name, t] : given) {
      if (!expected.count(name)) fail("optimizer state: unexpected tensor '{}' (no parameter of that name)", name);
    }
  }

  at::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    exp_avg_[i].copy_(*sources[2 * i]);
    exp_avg_sq_[i].copy_(*sources[2 * i + 1]);
  }
  step_ = loaded_step;
}

}  // namespace talon::train
