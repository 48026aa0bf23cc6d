#include "talon/train/online_features.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

namespace talon::train {

OnlineFeatures::OnlineFeatures(const model::TargetModel& target, std::vector<int> aux_layers,
                               std::optional<DistributionReads> distribution)
    : target_(target), aux_layers_(std::move(aux_layers)), distribution_(std::move(distribution)) {
  if (distribution_) {
    distribution_->vocab.d2t = distribution_->vocab.d2t.to(target.device());
    distribution_->vocab.t2d = distribution_->vocab.t2d.to(target.device());
  }
}

model::DraftBatch OnlineFeatures::make(const data::Batch& batch) const {
  at::NoGradGuard no_grad;
  const at::Device device = target_.device();
  at::Tensor input_ids = batch.input_ids.to(device);
  model::TargetFeatures features = target_.forward(input_ids, aux_layers_);
  model::DraftBatch out{input_ids, batch.loss_mask.to(device), batch.lengths.to(device), features.aux,
                        features.hidden, std::nullopt, 0};
  if (distribution_) {
    out.distribution = model::target_distribution(features.hidden, target_.lm_head(), distribution_->draft_head,
                                                  distribution_->vocab, target_.tp());
  }
  return out;
}

std::optional<model::DraftBatch> OnlineFeatures::make_round(const std::vector<std::optional<data::Batch>>& round,
                                                            const parallel::Layout& layout) const {
  std::optional<model::DraftBatch> mine;
  for (int position : layout.draft_dp_ranks_of_target_group()) {
    if (!round[position]) continue;
    model::DraftBatch features = make(*round[position]);
    if (position == layout.draft_dp_rank()) mine = std::move(features);
  }
  return mine;
}

}  // namespace talon::train
