#include "talon/model/block/block_attention.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>
#include <torch/autograd.h>

#include <cmath>

#include "talon/model/flash_attention.h"
#include "talon/model/layers.h"
#include "talon/util/error.h"

namespace talon::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

void check_inputs(const BlockAttentionInputs& in) {
  const std::int64_t batch = in.q.size(0), rows = in.q.size(2);
  const bool ok = in.q.dim() == 4 && in.block_size > 0 && in.anchors.dim() == 2 && in.anchors.size(0) == batch &&
                  in.keep.sizes() == in.anchors.sizes() && rows == in.anchors.size(1) * in.block_size &&
                  in.context_k.dim() == 4 && in.context_k.sizes() == in.context_v.sizes() &&
                  in.block_k.dim() == 4 && in.block_k.sizes() == in.block_v.sizes() &&
                  in.block_k.size(2) == rows && in.context_k.size(1) == in.block_k.size(1) &&
                  in.q.size(1) % in.block_k.size(1) == 0 && in.sliding_window >= 0;
  if (!ok) {
    fail("block attention: expected q [B, h, N * {}, d], context k/v [B, kv, S, d], block k/v [B, kv, N * {}, d] "
         "and anchors/keep [B, N]; found q [{}], context [{}], block [{}], anchors [{}], keep [{}]",
         in.block_size, in.block_size, fmt::join(in.q.sizes(), ", "), fmt::join(in.context_k.sizes(), ", "),
         fmt::join(in.block_k.sizes(), ", "), fmt::join(in.anchors.sizes(), ", "), fmt::join(in.keep.sizes(), ", "));
  }
}

double softmax_scale(const at::Tensor& q) { return 1.0 / std::sqrt(static_cast<double>(q.size(3))); }

// Slot k of each row, [N * block_size] int64.
at::Tensor slots(std::int64_t blocks, std::int64_t block_size, const at::TensorOptions& options) {
  return at::arange(block_size, options.dtype(at::kLong)).repeat({blocks});
}

// The context keys each query row sees, as ranges [lo, hi) per row.
KeyRanges context_ranges(const at::Tensor& anchors, const at::Tensor& keep, std::int64_t block_size,
                         std::int64_t window) {
  at::Tensor anchor = anchors.to(at::kLong).repeat_interleave(block_size, 1);  // [B, N * bs]
  at::Tensor kept = keep.to(at::kBool).repeat_interleave(block_size, 1);
  at::Tensor hi = at::where(kept, anchor, at::zeros_like(anchor));
  at::Tensor lo = at::zeros_like(anchor);
  if (window > 0) lo = (anchor + slots(anchors.size(1), block_size, anchor.options()) - (window - 1)).clamp_min(0);
  return {at::minimum(lo, hi), hi};
}

// q grouped by kv head and block: [B, h, N * bs, d] -> [B, kv, g, N, bs, d];
// block keys [B, kv, N * bs, d] -> [B, kv, 1, N, bs, d].
struct BlockGroups {
  std::int64_t batch, kv_heads, groups, blocks, block_size, dim;
  at::Tensor queries(const at::Tensor& x) const {
    return x.reshape({batch, kv_heads, groups, blocks, block_size, x.size(-1)});
  }
  at::Tensor keys(const at::Tensor& x) const { return x.reshape({batch, kv_heads, 1, blocks, block_size, dim}); }
  at::Tensor rows(const at::Tensor& x) const {  // [B, h, N * bs] -> [B, kv, g, N, bs]
    return x.reshape({batch, kv_heads, groups, blocks, block_size});
  }
  static BlockGroups of(const BlockAttentionInputs& in) {
    const std::int64_t kv = in.block_k.size(1);
    return {in.q.size(0), kv, in.q.size(1) / kv, in.anchors.size(1), in.block_size, in.q.size(3)};
  }
};

// [B, kv, g, N, bs, bs] scaled in-block scores, at least fp32, -inf where
// a sliding layer's slot k may not see slot k' > k.
at::Tensor in_block_scores(const at::Tensor& q6, const at::Tensor& k6, std::int64_t sliding_window, double scale) {
  at::Tensor s = at::matmul(q6, k6.transpose(-2, -1)).to(at_least_fp32(q6.scalar_type())) * scale;
  if (sliding_window > 0) {
    const std::int64_t bs = s.size(-1);
    s.masked_fill_(at::ones({bs, bs}, s.options().dtype(at::kBool)).triu(1), -INFINITY);
  }
  return s;
}

class BlockAttention : public torch::autograd::Function<BlockAttention> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& context_k,
                               const at::Tensor& context_v, const at::Tensor& block_k, const at::Tensor& block_v,
                               const at::Tensor& anchors, const at::Tensor& keep, std::int64_t block_size,
                               std::int64_t sliding_window) {
    const BlockAttentionInputs in{q, context_k, context_v, block_k, block_v, anchors, keep, block_size, sliding_window};
    const BlockGroups g = BlockGroups::of(in);
    const double scale = softmax_scale(q);
    const KeyRanges ranges = context_ranges(anchors, keep, block_size, sliding_window);
    FlashForward context = ranged_attention_forward_blocks(q, context_k, context_v, ranges, scale);
    at::Tensor scores = in_block_scores(g.queries(q), g.keys(block_k), sliding_window, scale);
    at::Tensor lse = at::logaddexp(context.lse, at::logsumexp(scores, -1).reshape(context.lse.sizes()));
    at::Tensor probs = at::exp(scores - g.rows(lse).unsqueeze(-1));
    at::Tensor out = context.out.to(lse.scalar_type()) * at::exp(context.lse - lse).unsqueeze(-1) +
                     at::matmul(probs, g.keys(block_v).to(probs.scalar_type())).reshape(context.out.sizes());
    out = out.to(q.scalar_type());
    ctx->save_for_backward({q, context_k, context_v, block_k, block_v, out, lse, ranges.lo, ranges.hi});
    ctx->saved_data["sliding_window"] = sliding_window;
    ctx->saved_data["block_size"] = block_size;
    return {out};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list s = ctx->get_saved_variables();
    const at::Tensor &q = s[0], &context_k = s[1], &context_v = s[2], &block_k = s[3], &block_v = s[4];
    const at::Tensor &out = s[5], &lse = s[6];
    const KeyRanges ranges{s[7], s[8]};
    const std::int64_t sliding_window = ctx->saved_data["sliding_window"].toInt();
    const std::int64_t block_size = ctx->saved_data["block_size"].toInt();
    const BlockGroups g{q.size(0), block_k.size(1), q.size(1) / block_k.size(1), q.size(2) / block_size, block_size,
                        q.size(3)};
    const at::ScalarType wide = lse.scalar_type();
    const double scale = softmax_scale(q);

    const at::Tensor grad = grad_outputs[0].to(wide);
    const at::Tensor delta = (grad * out.to(wide)).sum(-1);  // [B, h, N * bs]: sum_j P_j dP_j over every key
    FlashGrads context = ranged_attention_backward_blocks(q, context_k, context_v, ranges, grad, lse, delta, scale);

    const at::Tensor q6 = g.queries(q).to(wide), k6 = g.keys(block_k).to(wide), v6 = g.keys(block_v).to(wide);
    const at::Tensor grad6 = g.queries(grad);
    at::Tensor probs = at::exp(in_block_scores(q6, k6, sliding_window, scale) - g.rows(lse).unsqueeze(-1));
    at::Tensor ds = probs * (at::matmul(grad6, v6.transpose(-2, -1)) - g.rows(delta).unsqueeze(-1)) * scale;
    at::Tensor dq = context.dq.to(wide) + at::matmul(ds, k6).reshape(q.sizes());
    // Summed over the g query heads that share each kv head.
    at::Tensor dk = at::matmul(ds.transpose(-2, -1), q6).sum(2).reshape(block_k.sizes());
    at::Tensor dv = at::matmul(probs.transpose(-2, -1), grad6).sum(2).reshape(block_v.sizes());
    return {dq.to(q.scalar_type()),
            context.dk,
            context.dv,
            dk.to(block_k.scalar_type()),
            dv.to(block_v.scalar_type()),
            {},
            {},
            {},
            {}};
  }
};

}  // namespace

at::Tensor block_attention(const BlockAttentionInputs& in) {
  check_inputs(in);
  return BlockAttention::apply(in.q, in.context_k, in.context_v, in.block_k, in.block_v, in.anchors, in.keep,
                               in.block_size, in.sliding_window)[0];
}

at::Tensor block_attention_mask(const at::Tensor& anchors, const at::Tensor& keep, std::int64_t block_size,
                                std::int64_t context_length, std::int64_t sliding_window) {
  const std::int64_t blocks = anchors.size(1), rows = blocks * block_size;
  const KeyRanges ranges = context_ranges(anchors, keep, block_size, sliding_window);
  at::Tensor key = at::arange(context_length, anchors.options().dtype(at::kLong)).view({1, 1, -1});
  at::Tensor context = (key >= ranges.lo.unsqueeze(-1)).logical_and(key < ranges.hi.unsqueeze(-1));  // [B, rows, S]
  at::Tensor row = at::arange(rows, anchors.options().dtype(at::kLong));
  at::Tensor block = at::floor_divide(row, block_size);
  at::Tensor same_block = block.view({-1, 1}) == block.view({1, -1});
  if (sliding_window > 0) same_block = same_block.logical_and(row.view({1, -1}) <= row.view({-1, 1}));
  return at::cat({context, same_block.unsqueeze(0).expand({anchors.size(0), rows, rows})}, -1);
}

at::Tensor block_attention_reference(const BlockAttentionInputs& in) {
  check_inputs(in);
  at::Tensor mask = block_attention_mask(in.anchors, in.keep, in.block_size, in.context_k.size(2), in.sliding_window);
  return masked_attention(in.q, at::cat({in.context_k, in.block_k}, 2), at::cat({in.context_v, in.block_v}, 2),
                          mask.unsqueeze(1));
}

}  // namespace talon::model
