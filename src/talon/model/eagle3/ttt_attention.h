// The attention pattern of training-time test (brief §2, TTT step 4). At
// step s, query t sees the step-0 keys k_0[j] for j <= t (plain causal, not
// shifted by s; right-padding keys j >= length_b excluded) and the keys of
// its own position from the earlier steps, k_r[t] for r = 1..s: t + 1 + s
// scores under one fp32 softmax, scale 1/sqrt(d).
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace talon::model {

// Keys and values of the steps so far, one [B, kv_heads, L, d] tensor per
// step (after RoPE), step 0 first.
struct TttKvCache {
  std::vector<at::Tensor> keys, values;
};

// q [B, heads, L, d] of step s = cache.keys.size() - 1; lengths [B] int64.
// Returns [B, heads, L, d] in q's dtype. The step-0 part runs blockwise
// (flash_attention.h) and the s own-position keys join its softmax through
// the log-sum-exp, so memory is O(L); a custom autograd function
// differentiates it by recomputing the scores from the saved log-sum-exp.
at::Tensor ttt_attention(const at::Tensor& q, const TttKvCache& cache, const at::Tensor& lengths);

// The plain form, kept as the reference: the [L, L] step-0 scores are
// materialised and plain autograd differentiates them.
at::Tensor ttt_attention_reference(const at::Tensor& q, const TttKvCache& cache, const at::Tensor& lengths);

}  // namespace talon::model
