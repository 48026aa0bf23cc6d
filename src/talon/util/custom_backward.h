// A backward function given as a closure. torch::autograd::Function keeps
// its state in IValues, which cannot hold a process group or a recompute
// function; this node holds any C++ state. Header-only, so util itself
// stays free of libtorch.
#pragma once

#include <ATen/ATen.h>
#include <torch/csrc/autograd/function.h>
#include <ATen/core/grad_mode.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "talon/util/error.h"

namespace talon::util {

// Gradients of the outputs in, gradients of the inputs out (undefined where
// an input needs none), in the order the inputs were given.
using BackwardFn = std::function<std::vector<at::Tensor>(const std::vector<at::Tensor>& grad_outputs)>;

namespace detail {

class ClosureBackward : public torch::autograd::Node {
 public:
  ClosureBackward(std::string name, BackwardFn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  std::string name() const override { return name_; }
  torch::autograd::variable_list apply(torch::autograd::variable_list&& grads) override { return fn_(grads); }
  void release_variables() override { fn_ = nullptr; }  // frees what the closure captured

 private:
  std::string name_;
  BackwardFn fn_;
};

}  // namespace detail

// Returns `outputs`, computed from `inputs` without autograd, as tensors
// whose gradient is `backward`. Outputs must be floating point; undefined
// inputs are allowed (they get no edge). When autograd is off or no input
// requires grad, returns the outputs as they are.
inline std::vector<at::Tensor> with_backward(std::vector<at::Tensor> outputs, const std::vector<at::Tensor>& inputs,
                                             const std::string& name, BackwardFn backward) {
  auto requires_grad = [](const at::Tensor& t) { return t.defined() && t.requires_grad(); };
  if (!at::GradMode::is_enabled() || std::none_of(inputs.begin(), inputs.end(), requires_grad)) return outputs;
  std::shared_ptr<detail::ClosureBackward> node(new detail::ClosureBackward(name, std::move(backward)),
                                                torch::autograd::deleteNode);
  torch::autograd::edge_list edges;
  for (const at::Tensor& t : inputs) {
    edges.push_back(t.defined() ? torch::autograd::impl::gradient_edge(t) : torch::autograd::Edge());
  }
  node->set_next_edges(std::move(edges));
  for (at::Tensor& output : outputs) {
    if (!at::isFloatingType(output.scalar_type())) {
      fail("{}: differentiable outputs must be floating point, found {}", name, c10::toString(output.scalar_type()));
    }
    output = output.detach();  // a plain tensor, never a view, can take a gradient edge
    torch::autograd::create_gradient_edge(output, node);
  }
  return outputs;
}

}  // namespace talon::util
