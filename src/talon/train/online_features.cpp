#include "talon/train/online_features.h"

#include <ATen/ATen.h>

namespace talon::train {

OnlineFeatures::OnlineFeatures(const model::TargetModel& target, std::array<int, 3> aux_layers,
                               model::DraftVocab vocab)
    : target_(target), aux_layers_(aux_layers) {
  vocab_.d2t = vocab.d2t.to(target.device());
  vocab_.t2d = vocab.t2d.to(target.device());
  draft_head_ = model::draft_head_rows(target.lm_head(), vocab_);
}

model::TttBatch OnlineFeatures::make(const data::Batch& batch) const {
  at::NoGradGuard no_grad;
  const at::Device device = target_.device();
  at::Tensor input_ids = batch.input_ids.to(device);
  model::TargetFeatures features = target_.forward(input_ids, aux_layers_);
  return {input_ids, batch.loss_mask.to(device), batch.lengths.to(device), features.aux,
          model::target_distribution(features.hidden, target_.lm_head(), draft_head_, vocab_)};
}

}  // namespace talon::train
