#include "talon/model/flash_attention.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include <cmath>
#include <optional>

#include "talon/model/layers.h"
#include "talon/util/error.h"

#ifndef TALON_CUDA_KERNELS
#define TALON_CUDA_KERNELS 0
#endif
#if TALON_CUDA_KERNELS
#include "talon/model/flash_attention_cuda.h"
#endif

namespace talon::model {
namespace {

// Rows [first, first + count) of x [B, h, L, ...] regrouped as [B, kv, g * count, ...]:
// the g query heads that share a kv head stacked, so one batched matmul per
// kv head covers them all without repeating k and v. Row r is query head
// (r / count) of the group at position first + r % count.
at::Tensor group_rows(const at::Tensor& x, std::int64_t kv_heads, std::int64_t first, std::int64_t count) {
  std::vector<std::int64_t> shape = x.sizes().vec();
  shape[1] = kv_heads;
  shape[2] = x.size(1) / kv_heads * count;
  return x.narrow(2, first, count).reshape(shape);
}

// The inverse of group_rows for one block: [B, kv, g * count, ...] -> [B, h, count, ...].
at::Tensor ungroup_rows(const at::Tensor& x, std::int64_t heads, std::int64_t count) {
  std::vector<std::int64_t> shape = x.sizes().vec();
  shape[1] = heads;
  shape[2] = count;
  return x.reshape(shape);
}

// The loop both passes share: query blocks, and for each the key blocks
// that some query of it can see, with the scaled scores of the pair masked
// to -inf where a key is outside the query's range.
class BlockPairs {
 public:
  BlockPairs(const at::Tensor& q, const at::Tensor& k, const KeyRanges& ranges, double scale, std::int64_t block)
      : scale_(scale) {
    if (block <= 0) fail("flash attention: block size must be positive, found {}", block);
    if (q.dim() != 4 || k.dim() != 4 || q.size(0) != k.size(0) || q.size(3) != k.size(3) || k.size(1) == 0 ||
        q.size(1) % k.size(1) != 0) {
      fail("flash attention: expected q [B, h, Lq, d] and k [B, kv, Lk, d] with kv dividing h, found [{}] and [{}]",
           fmt::join(q.sizes(), ", "), fmt::join(k.sizes(), ", "));
    }
    const std::vector<std::int64_t> rows = {q.size(0), q.size(2)};
    if (ranges.lo.sizes() != at::IntArrayRef(rows) || ranges.hi.sizes() != at::IntArrayRef(rows)) {
      fail("flash attention: key ranges must be [B, Lq] = [{}], found [{}] and [{}]", fmt::join(rows, ", "),
           fmt::join(ranges.lo.sizes(), ", "), fmt::join(ranges.hi.sizes(), ", "));
    }
    query_length_ = q.size(2);
    key_length_ = k.size(2);
    groups_ = q.size(1) / k.size(1);
    // [B, 1, g * Lq, 1]: each query's bounds, repeated for the g heads of a group.
    auto rows_of = [&](const at::Tensor& t) {
      return t.to(q.device(), at::kLong).clamp(0, key_length_).repeat({1, groups_}).view({q.size(0), 1, -1, 1});
    };
    lo_ = rows_of(ranges.lo);
    hi_ = rows_of(ranges.hi);
    // Per query block: the smallest lo and largest hi bound the key blocks
    // to visit; the largest lo and smallest hi bound those needing no mask.
    const std::int64_t blocks = (query_length_ + block - 1) / block, padded = blocks * block;
    auto per_block = [&](const at::Tensor& t, std::int64_t pad, bool take_min) {
      at::Tensor x = at::constant_pad_nd(t.to(at::kLong).clamp(0, key_length_).cpu(), {0, padded - query_length_}, pad)
                         .view({q.size(0), blocks, block});
      at::Tensor bound = (take_min ? std::get<0>(x.min(-1)).amin(0) : std::get<0>(x.max(-1)).amax(0)).contiguous();
      return std::vector<std::int64_t>(bound.data_ptr<std::int64_t>(), bound.data_ptr<std::int64_t>() + blocks);
    };
    first_key_ = per_block(ranges.lo, key_length_, true);
    last_key_ = per_block(ranges.hi, 0, false);
    unmasked_from_ = per_block(ranges.lo, 0, false);
    unmasked_to_ = per_block(ranges.hi, key_length_, true);
    block_ = block;
    wide_ = at_least_fp32(q.scalar_type());
  }

  std::int64_t query_length() const { return query_length_; }
  at::ScalarType wide() const { return wide_; }

  // The key blocks some query of the query block starting at `query_first`
  // sees: [key_begin, key_end), key_begin a multiple of the block size.
  std::int64_t key_begin(std::int64_t query_first) const {
    return first_key_[query_first / block_] / block_ * block_;
  }
  std::int64_t key_end(std::int64_t query_first) const { return last_key_[query_first / block_]; }

  // [B, kv, g * qn, kn] scaled scores, at least fp32, masked with -inf.
  at::Tensor scores(const at::Tensor& q_rows, std::int64_t qi, std::int64_t qn, const at::Tensor& k_rows,
                    std::int64_t kj, std::int64_t kn) const {
    at::Tensor s = at::matmul(q_rows, k_rows.transpose(-2, -1)).to(wide_) * scale_;
    const std::int64_t b = qi / block_;
    if (kj < unmasked_from_[b] || kj + kn > unmasked_to_[b]) {
      at::Tensor key = at::arange(kj, kj + kn, lo_.options()).view({1, 1, 1, -1});
      const std::int64_t rows = lo_.size(2) / groups_;
      auto rows_of = [&](const at::Tensor& t) {  // this block's queries of each head group
        return t.view({t.size(0), 1, groups_, rows}).narrow(3, qi, qn).reshape({t.size(0), 1, groups_ * qn, 1});
      };
      s.masked_fill_((key < rows_of(lo_)).logical_or_(key >= rows_of(hi_)), -INFINITY);
    }
    return s;
  }

 private:
  at::Tensor lo_, hi_;
  std::vector<std::int64_t> first_key_, last_key_, unmasked_from_, unmasked_to_;  // one per query block
  double scale_;
  std::int64_t query_length_ = 0, key_length_ = 0, groups_ = 1, block_ = 1;
  at::ScalarType wide_;
};

}  // namespace

FlashForward ranged_attention_forward_blocks(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                             const KeyRanges& ranges, double scale, std::int64_t block) {
  BlockPairs pairs(q, k, ranges, scale, block);
  const std::int64_t batch = q.size(0), heads = q.size(1), kv_heads = k.size(1), length = pairs.query_length();
  const at::ScalarType wide = pairs.wide();
  FlashForward result{at::empty(q.sizes(), q.options()), at::empty({batch, heads, length}, q.options().dtype(wide))};
  for (std::int64_t qi = 0; qi < length; qi += block) {
    const std::int64_t qn = std::min(block, length - qi);
    at::Tensor q_rows = group_rows(q, kv_heads, qi, qn);
    // Online softmax: running maximum m, normaliser l and unnormalised output.
    at::Tensor m = at::full({batch, kv_heads, q_rows.size(2)}, -INFINITY, q.options().dtype(wide));
    at::Tensor l = at::zeros_like(m);
    at::Tensor acc = at::zeros(q_rows.sizes(), q.options().dtype(wide));
    for (std::int64_t kj = pairs.key_begin(qi); kj < pairs.key_end(qi); kj += block) {
      const std::int64_t kn = std::min(block, k.size(2) - kj);
      at::Tensor s = pairs.scores(q_rows, qi, qn, k.narrow(2, kj, kn), kj, kn);
      at::Tensor m_new = at::maximum(m, std::get<0>(s.max(-1)));
      // A row with every key so far masked keeps m = -inf; 0 stands in so exp() gives 0, not NaN.
      at::Tensor m_safe = at::where(at::isinf(m_new), at::zeros_like(m_new), m_new);
      at::Tensor rescale = at::exp(m - m_safe);
      at::Tensor p = at::exp(s - m_safe.unsqueeze(-1));
      l = l * rescale + p.sum(-1);
      acc = acc * rescale.unsqueeze(-1) + at::matmul(p, v.narrow(2, kj, kn).to(wide));
      m = m_new;
    }
    // A query that sees no key: output 0, lse -inf (l = 0 there).
    result.out.narrow(2, qi, qn).copy_(ungroup_rows(acc / l.clamp_min(1e-30).unsqueeze(-1), heads, qn));
    result.lse.narrow(2, qi, qn).copy_(ungroup_rows(m + at::log(l), heads, qn));
  }
  return result;
}

FlashGrads ranged_attention_backward_blocks(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                            const KeyRanges& ranges, const at::Tensor& grad_out,
                                            const at::Tensor& lse, const at::Tensor& delta, double scale,
                                            std::int64_t block) {
  BlockPairs pairs(q, k, ranges, scale, block);
  const std::int64_t heads = q.size(1), kv_heads = k.size(1), length = pairs.query_length();
  const at::ScalarType wide = pairs.wide();
  at::Tensor dq = at::zeros(q.sizes(), q.options().dtype(wide));
  at::Tensor dk = at::zeros(k.sizes(), k.options().dtype(wide)), dv = at::zeros(v.sizes(), v.options().dtype(wide));
  // A row whose softmax saw no key at all has lse -inf and every score
  // masked: 0 in its place makes its P exactly 0 rather than NaN.
  const at::Tensor lse_safe = at::where(at::isinf(lse), at::zeros_like(lse), lse);
  for (std::int64_t qi = 0; qi < length; qi += block) {
    const std::int64_t qn = std::min(block, length - qi);
    at::Tensor q_rows = group_rows(q, kv_heads, qi, qn);
    at::Tensor q_wide = q_rows.to(wide);
    at::Tensor grad_rows = group_rows(grad_out, kv_heads, qi, qn).to(wide);
    at::Tensor lse_rows = group_rows(lse_safe, kv_heads, qi, qn).unsqueeze(-1);
    at::Tensor delta_rows = group_rows(delta, kv_heads, qi, qn).unsqueeze(-1);
    at::Tensor dq_rows = at::zeros_like(q_wide);
    for (std::int64_t kj = pairs.key_begin(qi); kj < pairs.key_end(qi); kj += block) {
      const std::int64_t kn = std::min(block, k.size(2) - kj);
      at::Tensor k_block = k.narrow(2, kj, kn);
      at::Tensor p = at::exp(pairs.scores(q_rows, qi, qn, k_block, kj, kn) - lse_rows);  // [B, kv, g*qn, kn]
      at::Tensor dp = at::matmul(grad_rows, v.narrow(2, kj, kn).to(wide).transpose(-2, -1));
      at::Tensor ds = p * (dp - delta_rows) * scale;
      dv.narrow(2, kj, kn).add_(at::matmul(p.transpose(-2, -1), grad_rows));
      dk.narrow(2, kj, kn).add_(at::matmul(ds.transpose(-2, -1), q_wide));
      dq_rows.add_(at::matmul(ds, k_block.to(wide)));
    }
    dq.narrow(2, qi, qn).copy_(ungroup_rows(dq_rows, heads, qn));
  }
  return {dq.to(q.scalar_type()), dk.to(k.scalar_type()), dv.to(v.scalar_type())};
}

KeyRanges causal_key_ranges(const at::Tensor& lengths, std::int64_t length) {
  at::Tensor query = at::arange(length, lengths.options().dtype(at::kLong)).view({1, -1});
  at::Tensor hi = at::minimum(query + 1, lengths.to(at::kLong).view({-1, 1}));
  return {at::zeros_like(hi), hi};
}

FlashForward flash_attention_forward_blocks(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                            const at::Tensor& lengths, double scale, std::int64_t block) {
  return ranged_attention_forward_blocks(q, k, v, causal_key_ranges(lengths, q.size(2)), scale, block);
}

FlashGrads flash_attention_backward_blocks(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                           const at::Tensor& lengths, const at::Tensor& grad_out,
                                           const at::Tensor& lse, const at::Tensor& delta, double scale,
                                           std::int64_t block) {
  return ranged_attention_backward_blocks(q, k, v, causal_key_ranges(lengths, q.size(2)), grad_out, lse, delta,
                                          scale, block);
}

namespace {

// Whether PyTorch's CPU flash kernel computes this attention: it knows no
// per-sample lengths, so only when every sample is L long. The kernel is
// the internal operator scaled_dot_product_attention dispatches to on the
// CPU (torch 2.11); unlike that function it returns the log-sum-exp, and its
// backward takes one, which TTT's larger softmax needs.
bool cpu_fused(const at::Tensor& q, const at::Tensor& lengths) {
  return q.device().is_cpu() && (lengths == q.size(2)).all().item<bool>();
}

}  // namespace

#if TALON_CUDA_KERNELS
namespace {

cuda::Element element_of(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return cuda::Element::F32;
    case at::kBFloat16: return cuda::Element::BF16;
    default: return cuda::Element::F16;
  }
}

// The kernel's dimensions when it can run these tensors, else nullopt.
std::optional<cuda::FlashDims> kernel_dims(const at::Tensor& q, const at::Tensor& k, double scale) {
  const at::ScalarType type = q.scalar_type();
  if (!q.is_cuda() || (type != at::kFloat && type != at::kBFloat16 && type != at::kHalf)) return std::nullopt;
  cuda::FlashDims dims{q.size(0), q.size(1), k.size(1), q.size(2), q.size(3), static_cast<float>(scale),
                       element_of(type)};
  if (!cuda::supports(dims)) return std::nullopt;
  return dims;
}

}  // namespace
#endif

FlashForward flash_attention_forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                     const at::Tensor& lengths, double scale) {
#if TALON_CUDA_KERNELS
  if (auto dims = kernel_dims(q, k, scale)) {
    at::Tensor qc = q.contiguous(), kc = k.contiguous().to(q.scalar_type()), vc = v.contiguous().to(q.scalar_type());
    at::Tensor lengths_c = lengths.to(q.device(), at::kLong).contiguous();
    FlashForward result{at::empty_like(qc), at::empty({q.size(0), q.size(1), q.size(2)}, q.options().dtype(at::kFloat))};
    cuda::flash_forward({*dims, qc.data_ptr(), kc.data_ptr(), vc.data_ptr(), lengths_c.data_ptr<std::int64_t>(),
                         result.out.data_ptr(), result.lse.data_ptr<float>()});
    return result;
  }
#endif
  if (cpu_fused(q, lengths)) {
    auto [out, lse] = at::_scaled_dot_product_flash_attention_for_cpu(q, k.to(q.scalar_type()), v.to(q.scalar_type()),
                                                                      /*dropout_p=*/0.0, /*is_causal=*/true,
                                                                      /*attn_mask=*/{}, scale);
    return {out, lse.to(at_least_fp32(q.scalar_type()))};
  }
  return flash_attention_forward_blocks(q, k, v, lengths, scale);
}

FlashGrads flash_attention_backward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                    const at::Tensor& lengths, const at::Tensor& grad_out, const at::Tensor& out,
                                    const at::Tensor& lse, double scale) {
  if (cpu_fused(q, lengths)) {
    const at::ScalarType type = q.scalar_type();
    auto [dq, dk, dv] = at::_scaled_dot_product_flash_attention_for_cpu_backward(
        grad_out.to(type), q, k.to(type), v.to(type), out.to(type), lse, /*dropout_p=*/0.0, /*is_causal=*/true,
        /*attn_mask=*/{}, scale);
    return {dq, dk.to(k.scalar_type()), dv.to(v.scalar_type())};
  }
  const at::ScalarType wide = at_least_fp32(q.scalar_type());
  const at::Tensor delta = (grad_out.to(wide) * out.to(wide)).sum(-1);
#if TALON_CUDA_KERNELS
  if (auto dims = kernel_dims(q, k, scale)) {
    const at::ScalarType type = q.scalar_type();
    at::Tensor qc = q.contiguous(), kc = k.contiguous().to(type), vc = v.contiguous().to(type);
    at::Tensor grad_c = grad_out.contiguous().to(type), lengths_c = lengths.to(q.device(), at::kLong).contiguous();
    at::Tensor lse_c = lse.to(at::kFloat).contiguous(), delta_c = delta.to(at::kFloat).contiguous();
    const auto fp32 = q.options().dtype(at::kFloat);
    at::Tensor dq = at::zeros(q.sizes(), fp32), dk = at::zeros(k.sizes(), fp32), dv = at::zeros(v.sizes(), fp32);
    cuda::flash_backward({*dims, qc.data_ptr(), kc.data_ptr(), vc.data_ptr(), grad_c.data_ptr(),
                          lengths_c.data_ptr<std::int64_t>(), lse_c.data_ptr<float>(), delta_c.data_ptr<float>(),
                          dq.data_ptr<float>(), dk.data_ptr<float>(), dv.data_ptr<float>()});
    return {dq.to(type), dk.to(k.scalar_type()), dv.to(v.scalar_type())};
  }
#endif
  return flash_attention_backward_blocks(q, k, v, lengths, grad_out, lse, delta, scale);
}

bool flash_attention_has_cuda_kernel() { return TALON_CUDA_KERNELS; }

}  // namespace talon::model
