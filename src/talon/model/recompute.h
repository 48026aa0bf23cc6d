// Activation checkpointing (brief §5): a function runs without autograd, so
// none of what it computes on the way stays alive, and the backward pass
// runs it again with autograd on and differentiates that second run. Only
// its inputs and outputs are kept between the two passes.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

namespace talon::model {

using Recomputable = std::function<std::vector<at::Tensor>(const std::vector<at::Tensor>& inputs)>;

// Returns fn(inputs), differentiable with respect to `inputs` and
// `parameters`. inputs: the tensors fn is given (activations, index
// tensors); parameters: the leaf tensors fn reads directly whose gradients
// are wanted. fn must be deterministic, may keep references to anything
// else it reads until the backward pass, and must return new floating-point
// tensors. Under NoGradGuard, or when nothing requires grad, this is fn(inputs).
std::vector<at::Tensor> recompute_in_backward(const Recomputable& fn, const std::vector<at::Tensor>& inputs,
                                              const std::vector<at::Tensor>& parameters);

}  // namespace talon::model
