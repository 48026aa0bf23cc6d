// recompute_in_backward (activation checkpointing) gives the gradients of
// running the function directly, for inputs, parameters it reads by
// capture, and inputs that need no gradient; nothing is recorded under
// NoGradGuard.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>
#include <ATen/core/grad_mode.h>

#include "talon/model/recompute.h"

namespace talon::model {
namespace {

TEST(Recompute, GradientsMatchTheDirectRun) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(4);
  at::Tensor x = at::randn({5, 3}, gen, at::kDouble).requires_grad_();
  at::Tensor frozen = at::randn({5, 3}, gen, at::kDouble);  // an input without gradient
  at::Tensor w = at::randn({4, 3}, gen, at::kDouble).requires_grad_();
  at::Tensor unused = at::randn({2}, gen, at::kDouble).requires_grad_();
  Recomputable fn = [&w](const std::vector<at::Tensor>& in) {
    at::Tensor h = at::tanh(at::linear(in[0] * in[1], w));
    return std::vector<at::Tensor>{h.sum(-1), h.t()};  // two outputs, one a transpose
  };
  // Both outputs feed the loss through different weights, and again after a second use.
  auto loss_of = [&](const std::vector<at::Tensor>& out) {
    at::Tensor again = fn({out[0].unsqueeze(-1).expand({5, 3}), frozen})[0];
    return (out[0] * at::arange(5, at::kDouble)).sum() + out[1].pow(2).sum() + again.sum();
  };
  std::vector<at::Tensor> wrt = {x, w};
  auto want = torch::autograd::grad({loss_of(fn({x, frozen}))}, wrt);
  std::vector<at::Tensor> out = recompute_in_backward(fn, {x, frozen}, {w, unused});
  auto got = torch::autograd::grad({loss_of(out)}, wrt);
  for (std::size_t i = 0; i < wrt.size(); ++i) {
    EXPECT_TRUE(at::allclose(got[i], want[i], 1e-12, 1e-14)) << "input " << i;
    EXPECT_GT(want[i].abs().max().item<double>(), 0);
  }
}

TEST(Recompute, NoGraphUnderNoGrad) {
  at::Tensor x = at::randn({3}, at::kDouble).requires_grad_();
  Recomputable fn = [](const std::vector<at::Tensor>& in) { return std::vector<at::Tensor>{in[0] * 2}; };
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> out = recompute_in_backward(fn, {x}, {});
  EXPECT_FALSE(out[0].requires_grad());
  EXPECT_TRUE(at::equal(out[0], x.detach() * 2));
}

}  // namespace
}  // namespace talon::model
