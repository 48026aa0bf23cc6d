// Causal attention over right-padded keys, computed block by block with an
// online softmax (FlashAttention's algorithm): memory O(L), never an [L, L]
// score matrix, with the log-sum-exp that lets a softmax over more keys
// take it in. The TTT attention (ttt_attention.h) is built on it.
//
// Shapes: q [B, h, L, d]; k, v [B, kv, L, d] with h a multiple of kv (query
// head i reads kv head i / (h / kv)); lengths [B] int64 >= 1. Query t of
// sample b sees keys j <= t with j < lengths[b]; rows past the length still
// see the sample's real keys. The last dimension must be contiguous.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace talon::model {

struct FlashForward {
  at::Tensor out;  // [B, h, L, d] in q's dtype: softmax(q k^T * scale) v over the visible keys
  at::Tensor lse;  // [B, h, L] at least fp32: log sum_j exp(q . k_j * scale) over the visible keys
};

// The backward pass of a softmax whose normaliser may cover more keys than
// k holds (TTT adds each query's own-position keys of earlier steps): given
// that softmax's log-sum-exp `lse` and delta = rowsum(grad_out * out) of its
// whole output, P = exp(q k^T * scale - lse) and the gradients of k, v's part
// are dq = (P * (grad_out v^T - delta)) k * scale, dk likewise transposed,
// dv = P^T grad_out. With lse and delta of this attention alone they are its
// exact gradients. dk, dv are summed over the query heads sharing a kv head.
struct FlashGrads {
  at::Tensor dq, dk, dv;  // shapes and dtypes of q, k, v
};

// The dispatching entry points: for CUDA tensors the CUDA kernel when Talon
// was built with it; on the CPU, when no sample is padded (every length is
// L), PyTorch's fused CPU flash kernel, which takes the same lse and output
// (bench/attention: faster than the block loop); else the ATen block loop.
// The backward takes `out`, the whole softmax's output, whose delta it forms.
FlashForward flash_attention_forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                     const at::Tensor& lengths, double scale);
FlashGrads flash_attention_backward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                    const at::Tensor& lengths, const at::Tensor& grad_out, const at::Tensor& out,
                                    const at::Tensor& lse, double scale);

// Which keys each query sees: query t of sample b the keys j with
// lo[b, t] <= j < hi[b, t] ([B, Lq] int64 each). Causal attention over
// right-padded keys is lo = 0, hi = min(t + 1, length_b); block attention
// (block/block_attention.h) gives each block's queries the context before
// its anchor.
struct KeyRanges {
  at::Tensor lo, hi;
};
KeyRanges causal_key_ranges(const at::Tensor& lengths, std::int64_t length);

// The ATen block loop, on any device: blocks of `block` queries against the
// blocks of `block` keys that some of them see, scores accumulated in at
// least fp32. q [B, h, Lq, d]; k, v [B, kv, Lk, d]. A query whose range is
// empty gets output 0 and lse -inf.
FlashForward ranged_attention_forward_blocks(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                             const KeyRanges& ranges, double scale, std::int64_t block = 256);
FlashGrads ranged_attention_backward_blocks(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                            const KeyRanges& ranges, const at::Tensor& grad_out,
                                            const at::Tensor& lse, const at::Tensor& delta, double scale,
                                            std::int64_t block = 256);

// The block loop with causal_key_ranges(lengths, L).
FlashForward flash_attention_forward_blocks(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                            const at::Tensor& lengths, double scale, std::int64_t block = 256);
FlashGrads flash_attention_backward_blocks(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                           const at::Tensor& lengths, const at::Tensor& grad_out,
                                           const at::Tensor& lse, const at::Tensor& delta, double scale,
                                           std::int64_t block = 256);

// True when this build has the CUDA kernel (flash_attention_cuda.h).
bool flash_attention_has_cuda_kernel();

}  // namespace talon::model
