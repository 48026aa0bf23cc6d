// Building blocks shared by the target models and the EAGLE-3 draft, written
// as functions over tensors so that a model reads like its formulas. Shapes:
// B batch, L sequence, h heads, d head_dim.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>

#include "talon/io/rope_scaling.h"

namespace talon::model {

// HF's LlamaRMSNorm (brief §2): w * (x32 * rsqrt(mean(x32^2) + eps)).to(x.dtype),
// normalising in fp32 and casting back to x's dtype before the weight multiply.
// "fp32" here and in the softmaxes means at least fp32: fp64 runs stay fp64.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);
at::ScalarType at_least_fp32(at::ScalarType type);

// fp32 [d/2] inverse frequencies: 1 / theta^(2i/d) computed in fp32 as HF
// does, then the scaling (linear divides by the factor; llama3 as HF's
// _compute_llama3_parameters); io::parse_rope_scaling admits no other type.
at::Tensor rope_inv_freq(std::int64_t head_dim, double theta, const std::optional<io::RopeScaling>& scaling,
                         const std::string& source);

// cos and sin [P, d] of cat(freqs, freqs) with freqs = positions x inv_freq,
// computed in fp32 and cast to `dtype`. positions: int64 [P], or [B, P]
// (each sequence its own, decoding a batch) giving [B, 1, P, d].
struct RopeTable {
  at::Tensor cos, sin;
};
RopeTable rope_table(const at::Tensor& inv_freq, const at::Tensor& positions, at::ScalarType dtype);

// Rotate-half RoPE: x * cos + rotate_half(x) * sin. x [B, h, L, d]; cos, sin [L, d].
at::Tensor apply_rope(const at::Tensor& x, const RopeTable& rope);

// [B, kv_heads, L, d] -> [B, kv_heads * groups, L, d], each kv head repeated
// for the `groups` query heads that share it (GQA).
at::Tensor repeat_kv(const at::Tensor& x, std::int64_t groups);

// down(silu(gate(x)) * up(x)), no biases.
at::Tensor swiglu_mlp(const at::Tensor& x, const at::Tensor& gate, const at::Tensor& up, const at::Tensor& down);

// Causal self-attention without gradients (the target's), q [B, h, L, d],
// k/v [B, kv, L, d] with kv dividing h, scale 1/sqrt(d), softmax in fp32;
// result [B, h, L, d] in q's dtype. Never builds [L, L] scores: PyTorch's
// fused scaled_dot_product_attention, FlashAttention on CUDA and its flash
// kernel on the CPU (1.3x to 2.5x faster there than flash_attention.h's
// block loop, bench/attention). The reference is the plain [L, L] form.
at::Tensor causal_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);

// Attention of n new queries over T keys where mask [n, T] or [B, 1, n, T]
// (bool, true = may attend) allows: decoding, where the keys are the cached ones followed
// by the new tokens'. q [B, h, n, d], k/v [B, kv, T, d]; the plain form
// (scores [n, T] are small when n is a handful of draft tokens), softmax in
// fp32, result [B, h, n, d] in q's dtype. Every row must allow some key.
at::Tensor masked_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask);

at::Tensor causal_attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v);

}  // namespace talon::model
