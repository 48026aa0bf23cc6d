#include "talon/model/dflash/dflash_method.h"

#include <ATen/ATen.h>

#include "talon/model/block/block_step.h"
#include "talon/model/dflash/dflash_config.h"

namespace talon::model {

DFlashMethod::DFlashMethod(BlockDraft draft, DFlashTraining training)
    : draft_(std::move(draft)), training_(std::move(training)) {}

MicroBatchLoss DFlashMethod::loss(const DraftBatch& batch) const {
  const BlockStep step = run_blocks(draft_, batch, training_.blockwise_attention);
  const DFlashTargets targets =
      dflash_targets(batch.input_ids, batch.loss_mask, step.blocks, draft_.config.block_size, training_.decay_gamma);
  const DFlashTerms terms = dflash_objective(step.hidden, draft_.lm_head, targets, training_.objective);
  const at::TensorOptions fp64 = at::TensorOptions().dtype(at::kDouble).device(terms.numerator.device());
  at::Tensor metrics = at::cat({terms.numerator.detach().to(fp64).view({1}), terms.correct.to(fp64),
                                terms.supervised.to(fp64), terms.accepted.to(fp64).view({1}),
                                terms.blocks.to(fp64).view({1})});
  return {terms.numerator, terms.denominator.to(fp64), metrics};
}

nlohmann::json DFlashMethod::record(const at::Tensor& metrics, double objective) const {
  const std::int64_t bs = draft_.config.block_size;
  at::Tensor m = metrics.to(at::kDouble).cpu();
  std::vector<double> acc;
  for (std::int64_t k = 1; k < bs; ++k) acc.push_back(m[1 + k].item<double>() / std::max(m[1 + bs + k].item<double>(), 1e-6));
  const double correct = m.narrow(0, 1, bs).sum().item<double>(), supervised = m.narrow(0, 1 + bs, bs).sum().item<double>();
  return {{"loss", objective},
          {"acc", acc},
          {"acc_all", correct / std::max(supervised, 1e-6)},
          {"accept_len", m[1 + 2 * bs].item<double>() / std::max(m[2 + 2 * bs].item<double>(), 1.0)}};
}

void DFlashMethod::save(const std::string& dir, const NamedTensors& whole) const {
  save_block_draft(dir, config_json(), whole);
}

nlohmann::json DFlashMethod::config_json() const { return dflash_config_json(draft_.config); }

}  // namespace talon::model
