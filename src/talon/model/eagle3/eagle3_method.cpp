#include "talon/model/eagle3/eagle3_method.h"

#include <ATen/ATen.h>

#include <cmath>

#include "talon/model/eagle3/draft_checkpoint.h"
#include "talon/util/error.h"

namespace talon::model {

Eagle3Method::Eagle3Method(Eagle3Draft draft, DraftVocab vocab, at::Tensor draft_head, int ttt_length,
                           TttOptions options)
    : draft_(std::move(draft)),
      vocab_(std::move(vocab)),
      draft_head_(std::move(draft_head)),
      ttt_length_(ttt_length),
      options_(options) {}

TttBatch ttt_batch(const DraftBatch& batch) {
  if (!batch.distribution) fail("EAGLE-3: the batch carries no target distribution over the draft vocabulary");
  return {batch.input_ids, batch.loss_mask, batch.lengths, batch.features, *batch.distribution};
}

MicroBatchLoss Eagle3Method::loss(const DraftBatch& batch) const {
  TttOutput out = ttt_forward(draft_, ttt_batch(batch), ttt_length_, options_);
  const at::TensorOptions fp64 = at::TensorOptions().dtype(at::kDouble).device(out.loss.device());
  at::Tensor metrics = at::cat({out.ploss.to(fp64), out.correct.to(fp64), out.supervised.to(fp64), at::ones({1}, fp64)});
  return {out.loss, at::ones({}, fp64), metrics};
}

nlohmann::json Eagle3Method::record(const at::Tensor& metrics, double /*objective*/) const {
  const std::int64_t t = ttt_length_;
  at::Tensor m = metrics.to(at::kDouble).cpu();
  const double micro_batches = m[3 * t].item<double>();
  std::vector<double> ploss, acc;
  double loss = 0;
  for (std::int64_t s = 0; s < t; ++s) {
    ploss.push_back(m[s].item<double>() / micro_batches);
    acc.push_back(m[t + s].item<double>() / std::max(m[2 * t + s].item<double>(), 1e-6));
    loss += std::pow(0.8, static_cast<double>(s)) * ploss.back();
  }
  return {{"loss", loss}, {"ploss", ploss}, {"acc", acc}};
}

void Eagle3Method::save(const std::string& dir, const NamedTensors& whole) const {
  save_draft_checkpoint(dir, draft_.config, whole, vocab_);
}

nlohmann::json Eagle3Method::config_json() const { return io::to_json(draft_.config); }

}  // namespace talon::model
