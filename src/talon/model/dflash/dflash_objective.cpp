#include "talon/model/dflash/dflash_objective.h"

#include <ATen/ATen.h>

#include <limits>

#include "talon/model/block/block_chunks.h"
#include "talon/util/enum_names.h"
#include "talon/util/error.h"

namespace talon::model {
namespace {

constexpr util::EnumName<DFlashLossType> kLossTypes[] = {
    {DFlashLossType::DFlash, "dflash"},
    {DFlashLossType::DPace, "dpace"},
    {DFlashLossType::DPaceCumulativeConfidenceOnly, "dpace-cumulative-confidence-only"},
    {DFlashLossType::DPaceContinuationValueOnly, "dpace-continuation-value-only"},
};

}  // namespace

DFlashLossType parse_dflash_loss_type(const std::string& name) {
  return util::parse_enum(kLossTypes, name, "DFlash loss type");
}

const char* dflash_loss_type_name(DFlashLossType type) { return util::enum_name(kLossTypes, type); }

DFlashTargets dflash_targets(const at::Tensor& input_ids, const at::Tensor& loss_mask, const BlockAnchors& blocks,
                             std::int64_t block_size, std::optional<double> decay_gamma) {
  const BlockGather labels = gather_block_tokens(input_ids, blocks.anchors, 0, block_size);
  at::Tensor supervised = loss_mask.to(at::kDouble).gather(1, labels.index.flatten(1)).view(labels.index.sizes());
  at::Tensor slot = at::arange(block_size, blocks.anchors.options()).view({1, 1, -1});
  at::Tensor mask = blocks.keep.unsqueeze(-1).to(at::kDouble) * labels.in_range.to(at::kDouble) *
                    (slot > 0).to(at::kDouble) * supervised;
  at::Tensor weights = mask;
  if (decay_gamma && *decay_gamma > 0) {
    weights = mask * at::exp(-(slot - 1).clamp_min(0).to(at::kDouble) / *decay_gamma);
  }
  return {labels.ids, mask, weights};
}

at::Tensor dpace_weights(const at::Tensor& q, const at::Tensor& mask, DFlashLossType type, double alpha) {
  at::Tensor smooth = at::where(mask > 0, (1 - alpha) * q + alpha, at::ones_like(q));
  at::Tensor prefix = smooth.cumprod(-1);
  if (type == DFlashLossType::DPaceCumulativeConfidenceOnly) return prefix;
  at::Tensor suffix = (prefix * mask).flip(-1).cumsum(-1).flip(-1);
  if (type == DFlashLossType::DPace) return suffix;
  if (type == DFlashLossType::DPaceContinuationValueOnly) {
    return suffix / prefix.clamp_min(std::numeric_limits<float>::min());
  }
  fail("dpace_weights: {} is not a D-PACE loss type", dflash_loss_type_name(type));
}

DFlashTerms dflash_objective(const at::Tensor& hidden, const at::Tensor& lm_head, const DFlashTargets& targets,
                             const DFlashObjectiveOptions& options) {
  const std::int64_t batch = targets.labels.size(0), blocks = targets.labels.size(1), bs = targets.labels.size(2);
  const at::Tensor hidden4 = hidden.view({batch, blocks, bs, hidden.size(-1)});
  const DFlashLossType type = options.loss_type;
  const double alpha = options.dpace_alpha;
  auto terms = [lm_head, type, alpha](const std::vector<at::Tensor>& in) {
    const at::Tensor &h = in[0], &labels = in[1], &mask = in[2], &weights = in[3];
    // Softmax in at least fp32, as the references' cross_entropy on fp32 logits.
    at::Tensor logits = at::linear(h, lm_head.to(h.scalar_type()));
    logits = logits.to(at::promote_types(logits.scalar_type(), at::kFloat));
    at::Tensor log_q = at::log_softmax(logits, -1).gather(-1, labels.unsqueeze(-1)).squeeze(-1);  // [B, n, bs]
    at::Tensor ce = -log_q;
    at::Tensor numerator;
    if (type == DFlashLossType::DFlash) {
      numerator = (ce * weights.to(ce.scalar_type())).sum();
    } else {
      at::Tensor m = mask.to(ce.scalar_type());
      numerator = (ce * m * dpace_weights(log_q.detach().exp(), m, type, alpha)).sum();
    }
    at::NoGradGuard no_grad;
    at::Tensor correct = (logits.argmax(-1) == labels).logical_and(mask > 0.5);
    // Simulated acceptance (SpecForge's compute_accept_len): unscored slots
    // count as accepted inside the prefix product but not in its sum.
    at::Tensor valid = mask > 0;
    at::Tensor run = correct.logical_or(valid.logical_not()).to(at::kLong).cumprod(-1) * valid.to(at::kLong);
    at::Tensor valid_blocks = valid.any(-1).to(at::kDouble);
    at::Tensor accepted = ((run.sum(-1).to(at::kDouble) + 1) * valid_blocks).sum();
    return std::vector<at::Tensor>{numerator, correct.to(at::kDouble).sum(at::IntArrayRef{0, 1}), mask.to(at::kDouble).sum(at::IntArrayRef{0, 1}),
                                   accepted, valid_blocks.sum()};
  };
  std::vector<at::Tensor> sums = sum_over_block_chunks(
      terms, {hidden4, targets.labels, targets.mask, targets.weights}, {}, options.chunk_blocks);
  at::Tensor denominator = type == DFlashLossType::DFlash
                               ? targets.weights.to(at::kDouble).sum()
                               : at::scalar_tensor(static_cast<double>(batch), targets.weights.options().dtype(at::kDouble));
  return {sums[0], denominator, sums[1].detach(), sums[2].detach(), sums[3].detach(), sums[4].detach()};
}

}  // namespace talon::model
