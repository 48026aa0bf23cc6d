// The one place where libtorch versions differ for Talon: Debian's 1.13 (CPU)
// here, PyTorch 2.x's libtorch on GPU machines. Code elsewhere uses these
// names and never tests TORCH_VERSION itself.
#pragma once

#include <ATen/ATen.h>
#include <torch/version.h>

namespace talon::compat {

constexpr bool kTorch2 = TORCH_VERSION_MAJOR >= 2;

// Tensor over memory Talon owns elsewhere (an mmap); `deleter` runs when the
// last tensor view goes away. Same call in both versions; kept here so that a
// future signature change is one edit.
template <typename Deleter>
at::Tensor from_blob(void* data, at::IntArrayRef sizes, Deleter&& deleter, at::ScalarType dtype) {
  return at::from_blob(data, sizes, std::forward<Deleter>(deleter), at::TensorOptions().dtype(dtype));
}

}  // namespace talon::compat
