#include "talon/model/eagle3/ttt_attention.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <cmath>

#include "talon/model/flash_attention.h"
#include "talon/model/layers.h"

namespace talon::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The TTT softmax is one normaliser over two key sets: the step-0 keys,
// handled blockwise by flash attention with its own log-sum-exp, and one
// own-position key per earlier step (a "diagonal" score per query). The
// diagonal scores are O(L * s) and stay in plain tensor form; everything is
// written over q grouped by kv head, [B, kv, g, L, d], so the k and v of a
// kv head broadcast over the g query heads that share it.
struct Grouped {
  std::int64_t batch, kv_heads, groups, length, dim;
  at::Tensor operator()(const at::Tensor& x) const {  // [B, h, L(, d)] -> [B, kv, g, L(, d)]
    return x.dim() == 4 ? x.view({batch, kv_heads, groups, length, dim}) : x.view({batch, kv_heads, groups, length});
  }
  static Grouped of(const at::Tensor& q, const at::Tensor& k) {
    return {q.size(0), k.size(1), q.size(1) / k.size(1), q.size(2), q.size(3)};
  }
};

double softmax_scale(const at::Tensor& q) { return 1.0 / std::sqrt(static_cast<double>(q.size(3))); }

// [B, kv, g, L, s]: q[t] . k_r[t] * scale for r = 1..s, at least fp32.
at::Tensor diagonal_scores(const at::Tensor& q5, at::TensorList keys, double scale) {
  std::vector<at::Tensor> scores;
  for (std::size_t r = 1; r < keys.size(); ++r) {
    scores.push_back((q5 * keys[r].unsqueeze(2)).sum(-1).to(at_least_fp32(q5.scalar_type())) * scale);
  }
  return at::stack(scores, -1);
}

class TttAttention : public torch::autograd::Function<TttAttention> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& q, at::TensorList keys,
                               at::TensorList values, const at::Tensor& lengths) {
    const double scale = softmax_scale(q);
    FlashForward step0 = flash_attention_forward(q, keys[0], values[0], lengths, scale);
    at::Tensor out = step0.out, lse = step0.lse;
    if (keys.size() > 1) {
      const Grouped grouped = Grouped::of(q, keys[0]);
      at::Tensor diagonal = diagonal_scores(grouped(q), keys, scale);
      lse = at::logaddexp(step0.lse, at::logsumexp(diagonal, -1).flatten(1, 2));
      at::Tensor lse5 = grouped(lse);
      at::Tensor out5 = grouped(step0.out).to(lse.scalar_type()) * at::exp(grouped(step0.lse) - lse5).unsqueeze(-1);
      for (std::size_t r = 1; r < values.size(); ++r) {
        at::Tensor weight = at::exp(diagonal.select(-1, static_cast<std::int64_t>(r) - 1) - lse5);
        out5 = out5 + weight.unsqueeze(-1) * values[r].unsqueeze(2).to(out5.scalar_type());
      }
      out = out5.flatten(1, 2).to(q.scalar_type());
    }
    variable_list saved = {q};
    saved.insert(saved.end(), keys.begin(), keys.end());
    saved.insert(saved.end(), values.begin(), values.end());
    saved.push_back(out);
    ctx->save_for_backward(saved);
    ctx->saved_data["lse"] = lse;
    ctx->saved_data["lengths"] = lengths;
    return {out};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const std::size_t steps = (saved.size() - 2) / 2;
    const at::Tensor& q = saved[0];
    const at::TensorList keys(saved.data() + 1, steps), values(saved.data() + 1 + steps, steps);
    const at::Tensor& out = saved.back();
    const at::Tensor lse = ctx->saved_data["lse"].toTensor(), lengths = ctx->saved_data["lengths"].toTensor();
    const at::ScalarType wide = lse.scalar_type();
    const double scale = softmax_scale(q);

    at::Tensor grad = grad_outputs[0];
    FlashGrads step0 = flash_attention_backward(q, keys[0], values[0], lengths, grad, out, lse, scale);
    variable_list dkeys = {step0.dk}, dvalues = {step0.dv};
    at::Tensor dq = step0.dq;
    if (steps > 1) {
      const Grouped grouped = Grouped::of(q, keys[0]);
      at::Tensor q5 = grouped(q).to(wide), grad5 = grouped(grad).to(wide);
      at::Tensor delta = (grad.to(wide) * out.to(wide)).sum(-1);  // [B, h, L]: sum_j P_j dP_j over every key
      at::Tensor lse5 = grouped(lse), delta5 = grouped(delta);
      at::Tensor diagonal = diagonal_scores(grouped(q), keys, scale);
      at::Tensor dq5 = grouped(dq).to(wide);
      for (std::size_t r = 1; r < steps; ++r) {
        at::Tensor p = at::exp(diagonal.select(-1, static_cast<std::int64_t>(r) - 1) - lse5);  // [B, kv, g, L]
        at::Tensor k = keys[r].unsqueeze(2).to(wide), v = values[r].unsqueeze(2).to(wide);
        at::Tensor ds = p * ((grad5 * v).sum(-1) - delta5) * scale;
        dvalues.push_back((p.unsqueeze(-1) * grad5).sum(2).to(values[r].scalar_type()));
        dkeys.push_back((ds.unsqueeze(-1) * q5).sum(2).to(keys[r].scalar_type()));
        dq5 = dq5 + ds.unsqueeze(-1) * k;
      }
      dq = dq5.flatten(1, 2).to(q.scalar_type());
    }
    variable_list grads = {dq};
    grads.insert(grads.end(), dkeys.begin(), dkeys.end());
    grads.insert(grads.end(), dvalues.begin(), dvalues.end());
    grads.emplace_back();  // lengths
    return grads;
  }
};

}  // namespace

at::Tensor ttt_attention(const at::Tensor& q, const TttKvCache& cache, const at::Tensor& lengths) {
  return TttAttention::apply(q, at::TensorList(cache.keys), at::TensorList(cache.values), lengths)[0];
}

at::Tensor ttt_attention_reference(const at::Tensor& q, const TttKvCache& cache, const at::Tensor& lengths) {
  const std::int64_t length = q.size(2), groups = q.size(1) / cache.keys[0].size(1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  const at::ScalarType wide = at_least_fp32(q.scalar_type());

  // Step-0 keys: causal, and no key past the sample's real length.
  at::Tensor positions = at::arange(length, lengths.options());
  at::Tensor visible = (positions.view({-1, 1}) >= positions.view({1, -1})).view({1, 1, length, length}) &
                       (positions.view({1, -1}) < lengths.view({-1, 1})).view({-1, 1, 1, length});  // [B, 1, L, L]
  at::Tensor k0 = repeat_kv(cache.keys[0], groups), v0 = repeat_kv(cache.values[0], groups);
  std::vector<at::Tensor> scores = {
      (at::matmul(q, k0.transpose(-2, -1)).to(wide) * scale).masked_fill(visible.logical_not(), -INFINITY)};
  // Later steps: each query against its own position's key, one column each.
  for (std::size_t r = 1; r < cache.keys.size(); ++r) {
    at::Tensor kr = repeat_kv(cache.keys[r], groups);
    scores.push_back(((q * kr).sum(-1, /*keepdim=*/true).to(wide) * scale));
  }
  at::Tensor probs = at::softmax(at::cat(scores, -1), -1).to(q.scalar_type());  // [B, h, L, L + s]

  at::Tensor out = at::matmul(probs.narrow(-1, 0, length), v0);
  for (std::size_t r = 1; r < cache.values.size(); ++r) {
    out = out + probs.narrow(-1, length + static_cast<std::int64_t>(r) - 1, 1) * repeat_kv(cache.values[r], groups);
  }
  return out;
}

}  // namespace talon::model
