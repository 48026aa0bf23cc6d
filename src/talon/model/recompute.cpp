#include "talon/model/recompute.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>
#include <torch/csrc/autograd/function.h>

#include "talon/util/error.h"

namespace talon::model {
namespace {

using torch::autograd::variable_list;

// The backward node: holds fn and detached copies of its inputs (no links
// to other nodes), and on apply() reruns fn on fresh leaves and asks
// autograd for the gradients of those leaves and of the parameters.
class RecomputeBackward : public torch::autograd::Node {
 public:
  RecomputeBackward(Recomputable fn, const std::vector<at::Tensor>& inputs, std::vector<at::Tensor> parameters)
      : fn_(std::move(fn)), parameters_(std::move(parameters)) {
    for (const at::Tensor& input : inputs) {
      inputs_.push_back(input.detach());
      input_requires_grad_.push_back(input.requires_grad());
    }
  }

  std::string name() const override { return "talon::RecomputeBackward"; }

  variable_list apply(variable_list&& grads) override {
    at::AutoGradMode enable_grad(true);
    std::vector<at::Tensor> leaves;
    variable_list wanted;  // what autograd differentiates with respect to
    std::vector<std::size_t> slot;  // wanted[i] answers next edge slot[i]
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
      leaves.push_back(inputs_[i].detach().requires_grad_(input_requires_grad_[i]));
      if (input_requires_grad_[i]) {
        wanted.push_back(leaves.back());
        slot.push_back(i);
      }
    }
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
      if (parameters_[i].requires_grad()) {
        wanted.push_back(parameters_[i]);
        slot.push_back(inputs_.size() + i);
      }
    }
    const variable_list outputs = fn_(leaves);
    variable_list roots, root_grads;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      if (grads[i].defined() && outputs[i].requires_grad()) {
        roots.push_back(outputs[i]);
        root_grads.push_back(grads[i]);
      }
    }
    variable_list result(inputs_.size() + parameters_.size());
    if (!roots.empty() && !wanted.empty()) {
      const variable_list found = torch::autograd::grad(roots, wanted, root_grads, /*retain_graph=*/false,
                                                        /*create_graph=*/false, /*allow_unused=*/true);
      for (std::size_t i = 0; i < found.size(); ++i) result[slot[i]] = found[i];
    }
    return result;
  }

  void release_variables() override {
    inputs_.clear();
    parameters_.clear();
    fn_ = nullptr;
  }

 private:
  Recomputable fn_;
  std::vector<at::Tensor> inputs_, parameters_;
  std::vector<bool> input_requires_grad_;
};

}  // namespace

std::vector<at::Tensor> recompute_in_backward(const Recomputable& fn, const std::vector<at::Tensor>& inputs,
                                              const std::vector<at::Tensor>& parameters) {
  std::vector<at::Tensor> outputs;
  {
    at::NoGradGuard no_grad;
    outputs = fn(inputs);
  }
  auto requires_grad = [](const at::Tensor& t) { return t.defined() && t.requires_grad(); };
  const bool differentiable = at::GradMode::is_enabled() &&
                              (std::any_of(inputs.begin(), inputs.end(), requires_grad) ||
                               std::any_of(parameters.begin(), parameters.end(), requires_grad));
  if (!differentiable) return outputs;

  std::shared_ptr<RecomputeBackward> node(new RecomputeBackward(fn, inputs, parameters),
                                          torch::autograd::deleteNode);
  torch::autograd::edge_list edges;
  for (const std::vector<at::Tensor>* list : {&inputs, &parameters}) {
    for (const at::Tensor& t : *list) {
      edges.push_back(t.defined() ? torch::autograd::impl::gradient_edge(t) : torch::autograd::Edge());
    }
  }
  node->set_next_edges(std::move(edges));
  for (at::Tensor& output : outputs) {
    if (!at::isFloatingType(output.scalar_type())) {
      fail("recompute_in_backward: outputs must be floating point, found {}", c10::toString(output.scalar_type()));
    }
    output = output.detach();  // a plain tensor, never a view, can take a gradient edge
    torch::autograd::create_gradient_edge(output, node);
  }
  return outputs;
}

}  // namespace talon::model
