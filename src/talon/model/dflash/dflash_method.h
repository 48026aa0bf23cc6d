// DFlash behind the draft-method interface (draft_method.h): the block
// backbone trained with DFlash's objective (dflash_objective.h), the loss
// normalised over the whole optimizer step as SpecForge does (or per
// micro-step).
#pragma once

#include <optional>

#include "talon/model/block/block_draft.h"
#include "talon/model/dflash/dflash_objective.h"
#include "talon/model/draft_method.h"

namespace talon::model {

struct DFlashTraining {
  std::optional<double> decay_gamma;  // --loss-decay-gamma; SpecForge's recipe 7 at block size 16
  // Step: SpecForge's one ratio over the whole optimizer step; Round: per
  // micro-step, as DeepSpec normalises (its "DFlash" baseline).
  LossScope normalization = LossScope::Step;
  DFlashObjectiveOptions objective;
  bool blockwise_attention = true;  // false: the plain masked reference
};

class DFlashMethod : public DraftMethod {
 public:
  DFlashMethod(BlockDraft draft, DFlashTraining training);

  Strategy strategy() const override { return Strategy::DFlash; }
  NamedTensors parameters() const override { return draft_.parameters(); }
  std::vector<parallel::TpShard> shards() const override { return draft_.shards(); }
  LossScope loss_scope() const override { return training_.normalization; }
  double denominator_epsilon() const override { return 1e-6; }  // DeepSpec's, per micro-step
  // metrics: the numerator, per slot correct and supervised, the simulated
  // acceptance sum and the valid blocks.
  MicroBatchLoss loss(const DraftBatch& batch) const override;
  std::int64_t metric_count() const override { return 2 * draft_.config.block_size + 3; }
  // loss; acc per slot 1..bs-1 (slot 0 holds the anchor); accept_len, the
  // simulated acceptance length (1 + leading correct slots per block).
  nlohmann::json record(const at::Tensor& metrics, double objective) const override;
  void save(const std::string& dir, const NamedTensors& whole) const override;
  nlohmann::json config_json() const override;

  const BlockDraft& draft() const { return draft_; }

 private:
  BlockDraft draft_;
  DFlashTraining training_;
};

}  // namespace talon::model
