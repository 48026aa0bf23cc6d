#include "talon/model/layers.h"

#include <ATen/ATen.h>

#include <cmath>

#include "talon/util/error.h"

namespace talon::model {

at::ScalarType at_least_fp32(at::ScalarType type) { return at::promote_types(type, at::kFloat); }

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  at::Tensor x32 = x.to(at_least_fp32(x.scalar_type()));
  at::Tensor normed = x32 * at::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * normed.to(x.scalar_type());
}

namespace {

// HF's _compute_llama3_parameters, in fp32 tensor arithmetic as HF runs it
// (Python's `float / tensor` is reciprocal(tensor) * float, rounded twice):
// wavelengths shorter than original_max / high_freq_factor keep their
// frequency, longer than original_max / low_freq_factor are divided by
// `factor`, and the band between is blended.
at::Tensor llama3_scaled(const at::Tensor& inv_freq, const io::RopeScaling& scaling, const std::string& source) {
  if (!scaling.original_max_position_embeddings) {
    fail("{}: rope_scaling type llama3 needs original_max_position_embeddings", source);
  }
  const double original_max = static_cast<double>(*scaling.original_max_position_embeddings);
  const double low_freq_wavelen = original_max / scaling.low_freq_factor;
  const double high_freq_wavelen = original_max / scaling.high_freq_factor;
  at::Tensor wavelen = at::reciprocal(inv_freq) * (2 * M_PI);
  at::Tensor scaled = at::where(wavelen > low_freq_wavelen, inv_freq / scaling.factor, inv_freq);
  // Equal factors leave no medium band (SpecForge takes smooth = 0 there).
  const double band = scaling.high_freq_factor - scaling.low_freq_factor;
  at::Tensor smooth = band == 0 ? at::zeros_like(wavelen) : (at::reciprocal(wavelen) * original_max - scaling.low_freq_factor) / band;
  at::Tensor smoothed = (1 - smooth) * scaled / scaling.factor + smooth * scaled;
  at::Tensor medium = (wavelen >= high_freq_wavelen).logical_and(wavelen <= low_freq_wavelen);
  return at::where(medium, smoothed, scaled);
}

}  // namespace

at::Tensor rope_inv_freq(std::int64_t head_dim, double theta, const std::optional<io::RopeScaling>& scaling,
                         const std::string& source) {
  if (head_dim <= 0 || head_dim % 2 != 0) fail("{}: RoPE needs a positive even head_dim, found {}", source, head_dim);
  if (!(theta > 0)) fail("{}: RoPE needs a positive rope_theta, found {}", source, theta);
  at::Tensor exponent = at::arange(0, head_dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(head_dim);
  at::Tensor inv_freq = at::reciprocal(at::pow(theta, exponent));
  if (!scaling) return inv_freq;
  switch (scaling->type) {
    case io::RopeType::Linear:
      return inv_freq / scaling->factor;
    case io::RopeType::Llama3:
      return llama3_scaled(inv_freq, *scaling, source);
  }
  fail("{}: unknown RoPE type {}", source, static_cast<int>(scaling->type));
}

RopeTable rope_table(const at::Tensor& inv_freq, const at::Tensor& positions, at::ScalarType dtype) {
  at::Tensor freqs = positions.to(at::kFloat).unsqueeze(-1) * inv_freq.to(positions.device(), at::kFloat);
  at::Tensor emb = at::cat({freqs, freqs}, -1);  // [..., P, d]
  if (emb.dim() == 3) emb = emb.unsqueeze(1);    // [B, 1, P, d]: the same for every head
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

at::Tensor apply_rope(const at::Tensor& x, const RopeTable& rope) {
  const std::int64_t half = x.size(-1) / 2;
  at::Tensor rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * rope.cos + rotated * rope.sin;
}

at::Tensor repeat_kv(const at::Tensor& x, std::int64_t groups) {
  if (groups == 1) return x;
  const auto b = x.size(0), kv = x.size(1), l = x.size(2), d = x.size(3);
  return x.unsqueeze(2).expand({b, kv, groups, l, d}).reshape({b, kv * groups, l, d});
}

at::Tensor swiglu_mlp(const at::Tensor& x, const at::Tensor& gate, const at::Tensor& up, const at::Tensor& down) {
  return at::linear(at::silu(at::linear(x, gate)) * at::linear(x, up), down);
}

at::Tensor masked_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask) {
  const std::int64_t b = q.size(0), heads = q.size(1), n = q.size(2), d = q.size(3);
  const std::int64_t kv = k.size(1), groups = heads / kv, t = k.size(2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  // The query heads that share a kv head (heads kv*groups .. kv*groups +
  // groups - 1, as repeat_kv lays them out) as one block of rows, so the
  // cache is read where it lies rather than copied once per head: decoding
  // over a long cache is bound by that read.
  const at::Tensor grouped = q.reshape({b, kv, groups * n, d});
  const at::Tensor scores = (at::matmul(grouped, k.transpose(-2, -1)).to(at_least_fp32(q.scalar_type())) * scale)
                                .view({b, kv, groups, n, t});
  const at::Tensor allowed = mask.dim() == 4 ? mask.unsqueeze(2) : mask;  // [B, 1, 1, n, T] or [n, T]
  const at::Tensor probs = at::softmax(scores.masked_fill(allowed.logical_not(), -INFINITY), -1).to(q.scalar_type());
  return at::matmul(probs.view({b, kv, groups * n, t}), v).view({b, heads, n, d});
}

at::Tensor causal_attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  const std::int64_t length = q.size(2);
  return masked_attention(q, k, v, at::ones({length, length}, q.options().dtype(at::kBool)).tril());
}

at::Tensor causal_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  // The CPU kernel reads grouped kv heads as they are; on CUDA they are
  // repeated, the form every one of its fused kernels takes.
  const bool repeat = q.is_cuda();
  const std::int64_t groups = repeat ? q.size(1) / k.size(1) : 1;
  return at::scaled_dot_product_attention(q, repeat_kv(k, groups), repeat_kv(v, groups), /*attn_mask=*/{},
                                          /*dropout_p=*/0.0, /*is_causal=*/true, /*scale=*/std::nullopt,
                                          /*enable_gqa=*/!repeat);
}

}  // namespace talon::model
