#include "talon/train/online_features.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

namespace talon::train {

OnlineFeatures::OnlineFeatures(const model::TargetModel& target, std::array<int, 3> aux_layers,
                               model::DraftVocab vocab, at::Tensor draft_head)
    : target_(target), aux_layers_(aux_layers), draft_head_(std::move(draft_head)) {
  vocab_.d2t = vocab.d2t.to(target.device());
  vocab_.t2d = vocab.t2d.to(target.device());
}

model::TttBatch OnlineFeatures::make(const data::Batch& batch) const {
  at::NoGradGuard no_grad;
  const at::Device device = target_.device();
  at::Tensor input_ids = batch.input_ids.to(device);
  model::TargetFeatures features = target_.forward(input_ids, aux_layers_);
  return {input_ids, batch.loss_mask.to(device), batch.lengths.to(device), features.aux,
          model::target_distribution(features.hidden, target_.lm_head(), draft_head_, vocab_, target_.tp())};
}

std::optional<model::TttBatch> OnlineFeatures::make_round(const std::vector<std::optional<data::Batch>>& round,
                                                          const parallel::Layout& layout) const {
  std::optional<model::TttBatch> mine;
  for (int position : layout.draft_dp_ranks_of_target_group()) {
    if (!round[position]) continue;
    model::TttBatch features = make(*round[position]);
    if (position == layout.draft_dp_rank()) mine = std::move(features);
  }
  return mine;
}

}  // namespace talon::train
