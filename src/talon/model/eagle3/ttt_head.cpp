#include "talon/model/eagle3/ttt_head.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>
#include <ATen/core/grad_mode.h>

#include "talon/model/layers.h"
#include "talon/parallel/tensor_parallel.h"
#include "talon/util/custom_backward.h"

namespace talon::model {
namespace {

struct Head {
  // norm: the final norm, undefined when the hidden states come normed
  // (norm_output, EAGLE-3.1); lm_head: this draft-TP member's rows of the
  // draft vocabulary.
  at::Tensor norm, lm_head;
  double eps;
  parallel::Group tp;
};

// The loss and accuracy numerator of positions [first, first + count):
// hidden_rows [B, count, H] and pm_rows [B, count] are those positions' rows.
// Logits, target p and the softmax are this member's block of the draft
// vocabulary; the loss and the argmaxes are over all of it.
StepLoss rows_loss(const at::Tensor& hidden_rows, const Head& head, const TargetDistribution& target,
                   std::int64_t first, std::int64_t step, const at::Tensor& pm_rows, double padded_size,
                   bool with_accuracy) {
  at::Tensor normed =
      parallel::copy_to_tp(head.norm.defined() ? rms_norm(hidden_rows, head.norm, head.eps) : hidden_rows, head.tp);
  at::Tensor logits = at::linear(normed, head.lm_head);  // [B, count, Vd / tp]
  at::Tensor probs = target.probs(first + step, hidden_rows.size(1), head.tp);
  at::Tensor loss = parallel::vocab_parallel_soft_cross_entropy(logits, probs, pm_rows, head.tp) / padded_size;
  if (!with_accuracy) return {loss, {}};
  at::Tensor agree = (parallel::vocab_parallel_argmax(logits, head.tp) == parallel::vocab_parallel_argmax(probs, head.tp))
                         .to(at::kFloat);
  return {loss, (pm_rows * agree).sum().detach()};
}

template <typename Fn>
void for_each_chunk(std::int64_t length, std::int64_t chunk, Fn&& fn) {
  for (std::int64_t first = 0; first < length; first += chunk) fn(first, std::min(chunk, length - first));
}

// `chunk` positions at a time without autograd; the backward pass reruns
// each chunk on fresh leaves, differentiates it at once and writes its
// rows of the hidden-state gradient, so no [B, L, Vd] tensor ever exists.
StepLoss chunked_loss(const at::Tensor& hidden, const Head& head, const TargetDistribution& target,
                      std::int64_t step, const at::Tensor& position_mask, std::int64_t chunk) {
  const double padded_size = static_cast<double>(hidden.size(0) * hidden.size(1));
  at::Tensor loss, correct;
  {
    at::NoGradGuard no_grad;
    for_each_chunk(hidden.size(1), chunk, [&](std::int64_t first, std::int64_t count) {
      StepLoss part = rows_loss(hidden.narrow(1, first, count), head, target, first, step,
                                position_mask.narrow(1, first, count), padded_size, true);
      loss = loss.defined() ? loss + part.loss : part.loss;
      correct = correct.defined() ? correct + part.correct : part.correct;
    });
  }
  auto backward = [hidden = hidden.detach(), head, target, position_mask, step, chunk,
                   padded_size](const std::vector<at::Tensor>& grads) {
    at::AutoGradMode enable_grad(true);
    const bool with_norm = head.norm.defined();
    const Head leaves{with_norm ? head.norm.detach().requires_grad_(true) : at::Tensor(),
                      head.lm_head.detach().requires_grad_(true), head.eps, head.tp};
    at::Tensor grad_hidden = at::empty_like(hidden);
    // Weight gradients are summed over chunks in at least fp32, then cast once.
    const at::ScalarType wide = at_least_fp32(head.lm_head.scalar_type());
    at::Tensor grad_norm = with_norm ? at::zeros(head.norm.sizes(), head.norm.options().dtype(wide)) : at::Tensor();
    at::Tensor grad_head = at::zeros(head.lm_head.sizes(), head.lm_head.options().dtype(wide));
    for_each_chunk(hidden.size(1), chunk, [&](std::int64_t first, std::int64_t count) {
      at::Tensor rows = hidden.narrow(1, first, count).detach().requires_grad_(true);
      StepLoss part = rows_loss(rows, leaves, target, first, step, position_mask.narrow(1, first, count),
                                padded_size, false);
      std::vector<at::Tensor> wanted = {rows, leaves.lm_head};
      if (with_norm) wanted.push_back(leaves.norm);
      auto found = torch::autograd::grad({part.loss}, wanted, {grads[0]});
      grad_hidden.narrow(1, first, count).copy_(found[0]);
      grad_head.add_(found[1]);
      if (with_norm) grad_norm.add_(found[2]);
    });
    return std::vector<at::Tensor>{grad_hidden, with_norm ? grad_norm.to(head.norm.scalar_type()) : at::Tensor(),
                                   grad_head.to(head.lm_head.scalar_type())};
  };
  loss = util::with_backward({loss}, {hidden, head.norm, head.lm_head}, "talon::ChunkedStepLossBackward",
                             backward)[0];
  return {loss, correct};
}

}  // namespace

StepLoss step_loss(const Eagle3Draft& draft, const at::Tensor& hidden, const TargetDistribution& target,
                   std::int64_t step, const at::Tensor& position_mask, std::int64_t chunk) {
  // With norm_output the hidden states come final-normed (eagle3_draft.h's step_hidden).
  const Head head{draft.config.norm_output ? at::Tensor() : draft.norm, draft.lm_head, draft.config.rms_norm_eps,
                  draft.tp};
  if (chunk > 0) return chunked_loss(hidden, head, target, step, position_mask, chunk);
  const double padded_size = static_cast<double>(hidden.size(0) * hidden.size(1));
  return rows_loss(hidden, head, target, 0, step, position_mask, padded_size, true);
}

}  // namespace talon::model
