#include "talon/model/dspark/dspark_objective.h"

#include <ATen/ATen.h>

#include "talon/model/block/block_chunks.h"

namespace talon::model {

DSparkTargets dspark_targets(const at::Tensor& input_ids, const at::Tensor& loss_mask, const BlockAnchors& blocks,
                             std::int64_t block_size, std::optional<double> decay_gamma) {
  BlockGather labels = gather_block_tokens(input_ids, blocks.anchors, 1, block_size);
  at::Tensor kept = blocks.keep.unsqueeze(-1);
  at::Tensor index = at::where(kept, labels.index, 0);
  at::Tensor ids = input_ids.gather(1, index.flatten(1)).view(index.sizes());
  at::Tensor supervised = loss_mask.gather(1, index.flatten(1)).view(index.sizes()) > 0.5;
  at::Tensor eval_mask = labels.in_range.logical_and(supervised).logical_and(kept).to(at::kLong).cumprod(-1).to(at::kDouble);
  at::Tensor weights = eval_mask;
  if (decay_gamma && *decay_gamma > 0) {
    at::Tensor slot = at::arange(block_size, eval_mask.options()).view({1, 1, -1});
    weights = eval_mask * at::exp(-slot / *decay_gamma);
  }
  at::Tensor anchor_tokens = input_ids.gather(1, blocks.anchors.clamp(0, input_ids.size(1) - 1)).unsqueeze(-1);
  at::Tensor previous = at::cat({anchor_tokens, ids.narrow(-1, 0, block_size - 1)}, -1);
  return {ids, previous, eval_mask, weights, (index - 1).clamp_min(0)};
}

DSparkTerms dspark_objective(const at::Tensor& hidden, const at::Tensor& lm_head, const at::Tensor& final_hidden,
                             const MarkovHead& head, const DSparkTargets& targets,
                             const DSparkObjectiveOptions& options) {
  const std::int64_t batch = targets.labels.size(0), blocks = targets.labels.size(1), bs = targets.labels.size(2);
  const std::int64_t width = hidden.size(-1);
  const at::Tensor hidden4 = hidden.view({batch, blocks, bs, width});
  // z's row for each slot, [B, N, bs, H]: as large as the hidden states, and
  // gathered once so that a chunk of blocks carries its own rows.
  const at::Tensor aligned = final_hidden.to(hidden.device())
                                 .gather(1, targets.target_index.flatten(1).unsqueeze(-1).expand({-1, -1, width}))
                                 .view({batch, blocks, bs, width});
  const bool with_confidence = head.config.confidence_head && options.confidence_alpha > 0;
  auto terms = [lm_head, head, with_confidence](const std::vector<at::Tensor>& in) {
    const at::Tensor &h = in[0], &z = in[1], &labels = in[2], &previous = in[3], &eval_mask = in[4],
                     &weights = in[5];
    const at::ScalarType wide = at::promote_types(h.scalar_type(), at::kFloat);
    at::Tensor lm = lm_head.to(h.scalar_type());
    at::Tensor logits = (at::linear(h, lm) + markov_block_bias(head, previous, h).to(h.scalar_type())).to(wide);
    at::Tensor log_q = at::log_softmax(logits, -1);
    at::Tensor w = weights.to(wide), e = eval_mask.to(wide);
    at::Tensor ce = -log_q.gather(-1, labels.unsqueeze(-1)).squeeze(-1);
    at::Tensor target_probs;
    {
      at::NoGradGuard no_grad;
      target_probs = at::softmax(at::linear(z.to(h.scalar_type()), lm).to(wide), -1);
    }
    at::Tensor l1 = (log_q.exp() - target_probs).abs().sum(-1);
    at::Tensor accept = (1 - 0.5 * l1.detach()).clamp(0, 1);  // a*, the confidence head's target
    at::Tensor confidence_sum = at::scalar_tensor(0.0, w.options());
    if (with_confidence) {
      at::Tensor c = confidence_logits(head, previous, h).to(wide);
      confidence_sum = (at::binary_cross_entropy_with_logits(c, accept, {}, {}, at::Reduction::None) * w).sum();
    }
    std::vector<at::Tensor> sums = {(ce * w).sum(), (l1 * w).sum(), confidence_sum};
    at::NoGradGuard no_grad;  // the metrics
    at::Tensor correct = (logits.argmax(-1) == labels).to(wide) * e;
    at::Tensor valid_blocks = (e > 0).any(-1).to(wide);
    const std::vector<std::int64_t> per_slot = {0, 1};
    sums.insert(sums.end(), {(accept * e).sum(per_slot), e.sum(per_slot), correct.sum(per_slot),
                             (((accept * e).cumprod(-1).sum(-1) + 1) * valid_blocks).sum(), valid_blocks.sum()});
    return sums;
  };
  std::vector<at::Tensor> parameters;
  for (at::Tensor* t : const_cast<MarkovHead&>(head).slots()) parameters.push_back(*t);
  std::vector<at::Tensor> sums = sum_over_block_chunks(
      terms, {hidden4, aligned, targets.labels, targets.previous, targets.eval_mask, targets.weights}, parameters,
      options.chunk_blocks);
  return {sums[0],          sums[1],          sums[2],          targets.weights.sum(), sums[3].detach(),
          sums[4].detach(), sums[5].detach(), sums[6].detach(), sums[7].detach()};
}

at::Tensor dspark_loss(const DSparkTerms& terms, const at::Tensor& denominator, const DSparkObjectiveOptions& options) {
  at::Tensor den = denominator.to(terms.ce.scalar_type()) + 1e-6;
  return options.ce_alpha * terms.ce / den + options.l1_alpha * terms.l1 / den +
         options.confidence_alpha * terms.confidence / den;
}

}  // namespace talon::model
