#include "talon/train/offline_features.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "talon/util/error.h"

namespace talon::train {

OfflineFeatures::OfflineFeatures(data::HiddenStateCache cache, model::DraftVocab vocab, at::Tensor lm_head,
                                 at::Tensor draft_head, parallel::Group draft_tp, at::ScalarType dtype)
    : cache_(std::move(cache)),
      lm_head_(std::move(lm_head)),
      draft_head_(std::move(draft_head)),
      draft_tp_(std::move(draft_tp)),
      dtype_(dtype) {
  vocab_.d2t = vocab.d2t.to(lm_head_.device());
  vocab_.t2d = vocab.t2d.to(lm_head_.device());
}

model::TttBatch OfflineFeatures::make(const data::Batch& batch) const {
  at::NoGradGuard no_grad;
  const std::int64_t rows = batch.input_ids.size(0), length = batch.input_ids.size(1);
  const std::int64_t h = cache_.settings().hidden_size;
  const at::TensorOptions stored = at::TensorOptions().dtype(cache_.settings().dtype);
  at::Tensor aux = at::zeros({rows, length, 3 * h}, stored);
  at::Tensor hidden = at::zeros({rows, length, h}, stored);
  for (std::int64_t b = 0; b < rows; ++b) {
    const std::size_t index = batch.indices.at(static_cast<std::size_t>(b));
    const data::CachedSample sample = cache_.sample(index);
    const std::int64_t n = batch.lengths[b].item<std::int64_t>();
    if (sample.input_ids.size(0) != n) {
      fail("{}: sample {} has {} tokens but the batch's has {}: the batch is not from this cache's dataset",
           cache_.dir(), index, sample.input_ids.size(0), n);
    }
    aux[b].narrow(0, 0, n).copy_(sample.aux);
    hidden[b].narrow(0, 0, n).copy_(sample.hidden);
  }
  const at::TensorOptions to = at::TensorOptions().device(lm_head_.device()).dtype(dtype_);
  at::Tensor final_hidden = hidden.to(to);
  return {batch.input_ids.to(to.device()), batch.loss_mask.to(to.device()), batch.lengths.to(to.device()),
          aux.to(to), model::target_distribution(final_hidden, lm_head_, draft_head_, vocab_, draft_tp_)};
}

std::optional<model::TttBatch> OfflineFeatures::make_round(const std::vector<std::optional<data::Batch>>& round,
                                                           const parallel::Layout& layout) const {
  const std::optional<data::Batch>& mine = round[static_cast<std::size_t>(layout.draft_dp_rank())];
  if (!mine) return std::nullopt;
  return make(*mine);
}

}  // namespace talon::train
