#include "talon/model/ttt_head.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include "talon/model/layers.h"

namespace talon::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Head {
  at::Tensor norm, lm_head;
  double eps;
};

// The loss and accuracy numerator of positions [first, first + count):
// hidden_rows [B, count, H] and pm_rows [B, count] are those positions' rows.
StepLoss rows_loss(const at::Tensor& hidden_rows, const Head& head, const TargetDistribution& target,
                   std::int64_t first, std::int64_t step, const at::Tensor& pm_rows, double padded_size) {
  at::Tensor logits = at::linear(rms_norm(hidden_rows, head.norm, head.eps), head.lm_head);  // [B, count, Vd]
  at::Tensor probs = target.probs(first + step, hidden_rows.size(1));
  at::Tensor log_probs = at::log_softmax(logits.to(at_least_fp32(logits.scalar_type())), -1);
  at::Tensor loss = -(pm_rows.unsqueeze(-1) * probs * log_probs).sum() / padded_size;
  at::Tensor agree = (logits.argmax(-1) == probs.argmax(-1)).to(at::kFloat);
  return {loss, (pm_rows * agree).sum().detach()};
}

class ChunkedStepLoss : public torch::autograd::Function<ChunkedStepLoss> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& norm,
                               const at::Tensor& lm_head, const at::Tensor& target_hidden,
                               const at::Tensor& draft_head, const at::Tensor& position_mask, std::int64_t step,
                               std::int64_t chunk, double eps) {
    const Head head{norm, lm_head, eps};
    const TargetDistribution target{target_hidden, draft_head, {}};
    const double padded_size = static_cast<double>(hidden.size(0) * hidden.size(1));
    at::Tensor loss, correct;
    for_each_chunk(hidden.size(1), chunk, [&](std::int64_t first, std::int64_t count) {
      StepLoss part = rows_loss(hidden.narrow(1, first, count), head, target, first, step,
                                position_mask.narrow(1, first, count), padded_size);
      loss = loss.defined() ? loss + part.loss : part.loss;
      correct = correct.defined() ? correct + part.correct : part.correct;
    });
    ctx->save_for_backward({hidden, norm, lm_head});
    ctx->saved_data["target_hidden"] = target_hidden;
    ctx->saved_data["draft_head"] = draft_head;
    ctx->saved_data["position_mask"] = position_mask;
    ctx->saved_data["step"] = step;
    ctx->saved_data["chunk"] = chunk;
    ctx->saved_data["eps"] = eps;
    ctx->mark_non_differentiable({correct});
    return {loss, correct};
  }

  // Per chunk: the same rows_loss on fresh leaves, differentiated at once,
  // its gradient written into the chunk's rows of the hidden-state gradient.
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor& hidden = saved[0];
    const Head head{saved[1].detach().requires_grad_(true), saved[2].detach().requires_grad_(true),
                    ctx->saved_data["eps"].toDouble()};
    const TargetDistribution target{ctx->saved_data["target_hidden"].toTensor(),
                                    ctx->saved_data["draft_head"].toTensor(), {}};
    const at::Tensor position_mask = ctx->saved_data["position_mask"].toTensor();
    const std::int64_t step = ctx->saved_data["step"].toInt(), chunk = ctx->saved_data["chunk"].toInt();
    const double padded_size = static_cast<double>(hidden.size(0) * hidden.size(1));

    at::AutoGradMode enable_grad(true);
    at::Tensor grad_hidden = at::empty_like(hidden);
    // Weight gradients are summed over chunks in at least fp32, then cast once.
    const at::ScalarType wide = at_least_fp32(head.lm_head.scalar_type());
    at::Tensor grad_norm = at::zeros(head.norm.sizes(), head.norm.options().dtype(wide));
    at::Tensor grad_head = at::zeros(head.lm_head.sizes(), head.lm_head.options().dtype(wide));
    for_each_chunk(hidden.size(1), chunk, [&](std::int64_t first, std::int64_t count) {
      at::Tensor rows = hidden.narrow(1, first, count).detach().requires_grad_(true);
      StepLoss part = rows_loss(rows, head, target, first, step, position_mask.narrow(1, first, count), padded_size);
      variable_list grads = torch::autograd::grad({part.loss}, {rows, head.norm, head.lm_head}, {grad_outputs[0]});
      grad_hidden.narrow(1, first, count).copy_(grads[0]);
      grad_norm.add_(grads[1]);
      grad_head.add_(grads[2]);
    });
    return {grad_hidden, grad_norm.to(head.norm.scalar_type()), grad_head.to(head.lm_head.scalar_type()),
            {}, {}, {}, {}, {}, {}};
  }

 private:
  template <typename Fn>
  static void for_each_chunk(std::int64_t length, std::int64_t chunk, Fn&& fn) {
    for (std::int64_t first = 0; first < length; first += chunk) fn(first, std::min(chunk, length - first));
  }
};

}  // namespace

StepLoss step_loss(const Eagle3Draft& draft, const at::Tensor& hidden, const TargetDistribution& target,
                   std::int64_t step, const at::Tensor& position_mask, std::int64_t chunk) {
  if (chunk > 0) {
    variable_list out = ChunkedStepLoss::apply(hidden, draft.norm, draft.lm_head, target.hidden, target.draft_head,
                                               position_mask, step, chunk, draft.config.rms_norm_eps);
    return {out[0], out[1]};
  }
  const double padded_size = static_cast<double>(hidden.size(0) * hidden.size(1));
  return rows_loss(hidden, {draft.norm, draft.lm_head, draft.config.rms_norm_eps}, target, 0, step, position_mask,
                   padded_size);
}

}  // namespace talon::model
