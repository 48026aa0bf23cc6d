#include "talon/train/offline_features.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "talon/util/error.h"

namespace talon::train {

OfflineFeatures::OfflineFeatures(data::HiddenStateCache cache, std::optional<DistributionReads> distribution,
                                 parallel::Group draft_tp, at::Device device, at::ScalarType dtype)
    : cache_(std::move(cache)),
      distribution_(std::move(distribution)),
      draft_tp_(std::move(draft_tp)),
      device_(device),
      dtype_(dtype) {
  if (distribution_) {
    distribution_->vocab.d2t = distribution_->vocab.d2t.to(device);
    distribution_->vocab.t2d = distribution_->vocab.t2d.to(device);
  }
}

model::DraftBatch OfflineFeatures::make(const data::Batch& batch) const {
  at::NoGradGuard no_grad;
  const std::int64_t rows = batch.input_ids.size(0), length = batch.input_ids.size(1);
  const std::int64_t h = cache_.settings().hidden_size;
  const at::TensorOptions stored = at::TensorOptions().dtype(cache_.settings().dtype);
  const std::int64_t m = static_cast<std::int64_t>(cache_.settings().aux_layers.size());
  at::Tensor aux = at::zeros({rows, length, m * h}, stored);
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
  const at::TensorOptions to = at::TensorOptions().device(device_).dtype(dtype_);
  at::Tensor final_hidden = hidden.to(to);
  model::DraftBatch out{batch.input_ids.to(device_), batch.loss_mask.to(device_), batch.lengths.to(device_),
                        aux.to(to), final_hidden, std::nullopt, 0};
  if (distribution_) {
    out.distribution = model::target_distribution(final_hidden, distribution_->vocab_rows, distribution_->draft_head,
                                                  distribution_->vocab, draft_tp_);
  }
  return out;
}

std::optional<model::DraftBatch> OfflineFeatures::make_round(const std::vector<std::optional<data::Batch>>& round,
                                                             const parallel::Layout& layout) const {
  const std::optional<data::Batch>& mine = round[static_cast<std::size_t>(layout.draft_dp_rank())];
  if (!mine) return std::nullopt;
  return make(*mine);
}

}  // namespace talon::train
