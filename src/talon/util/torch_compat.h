// The one place where libtorch versions differ for Talon: Debian's 1.13 (CPU)
// here, PyTorch 2.x's libtorch on GPU machines. Code elsewhere uses these
// names and never tests TORCH_VERSION itself.
#pragma once

#include <ATen/ATen.h>
#include <torch/version.h>

#include <optional>

namespace talon::compat {

constexpr bool kTorch2 = TORCH_VERSION_MAJOR >= 2;

// Tensor over memory Talon owns elsewhere (an mmap); `deleter` runs when the
// last tensor view goes away. Same call in both versions; kept here so that a
// future signature change is one edit.
template <typename Deleter>
at::Tensor from_blob(void* data, at::IntArrayRef sizes, Deleter&& deleter, at::ScalarType dtype) {
  return at::from_blob(data, sizes, std::forward<Deleter>(deleter), at::TensorOptions().dtype(dtype));
}

// Causal attention (scale 1/sqrt(d)) through PyTorch's fused kernel, which
// 1.13 lacks: nullopt there, and callers fall back to the plain form.
// q, k, v [B, h, L, d] with equal head counts.
inline std::optional<at::Tensor> fused_causal_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0, /*is_causal=*/true);
#else
  return std::nullopt;
#endif
}

}  // namespace talon::compat
