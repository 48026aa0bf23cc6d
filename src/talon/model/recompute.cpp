#include "talon/model/recompute.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>
#include <ATen/core/grad_mode.h>

#include "talon/util/custom_backward.h"

namespace talon::model {

using torch::autograd::variable_list;

std::vector<at::Tensor> recompute_in_backward(const Recomputable& fn, const std::vector<at::Tensor>& inputs,
                                              const std::vector<at::Tensor>& parameters) {
  std::vector<at::Tensor> outputs;
  {
    at::NoGradGuard no_grad;
    outputs = fn(inputs);
  }
  // The backward pass holds fn and detached copies of the inputs (no links to
  // other nodes), reruns fn on fresh leaves and asks autograd for the
  // gradients of those leaves and of the parameters.
  std::vector<at::Tensor> detached;
  std::vector<bool> input_requires_grad;
  for (const at::Tensor& input : inputs) {
    detached.push_back(input.detach());
    input_requires_grad.push_back(input.requires_grad());
  }
  std::vector<at::Tensor> edges = inputs;
  edges.insert(edges.end(), parameters.begin(), parameters.end());
  auto backward = [fn, detached, input_requires_grad, parameters](const variable_list& grads) {
    at::AutoGradMode enable_grad(true);
    std::vector<at::Tensor> leaves;
    variable_list wanted;           // what autograd differentiates with respect to
    std::vector<std::size_t> slot;  // wanted[i] answers input slot[i]
    for (std::size_t i = 0; i < detached.size(); ++i) {
      leaves.push_back(detached[i].detach().requires_grad_(input_requires_grad[i]));
      if (input_requires_grad[i]) {
        wanted.push_back(leaves.back());
        slot.push_back(i);
      }
    }
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      if (parameters[i].requires_grad()) {
        wanted.push_back(parameters[i]);
        slot.push_back(detached.size() + i);
      }
    }
    const variable_list outputs = fn(leaves);
    variable_list roots, root_grads;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      if (grads[i].defined() && outputs[i].requires_grad()) {
        roots.push_back(outputs[i]);
        root_grads.push_back(grads[i]);
      }
    }
    variable_list result(detached.size() + parameters.size());
    if (!roots.empty() && !wanted.empty()) {
      const variable_list found = torch::autograd::grad(roots, wanted, root_grads, /*retain_graph=*/false,
                                                        /*create_graph=*/false, /*allow_unused=*/true);
      for (std::size_t i = 0; i < found.size(); ++i) result[slot[i]] = found[i];
    }
    return result;
  };
  return util::with_backward(std::move(outputs), edges, "talon::RecomputeBackward", backward);
}

}  // namespace talon::model
