// The draft's inputs computed by the target model in the loop ("online"):
// per micro-batch, the draft's target layers, the final hidden state and,
// when the method reads it, the target distribution over the draft
// vocabulary (brief §2, "Target features").
//
// Hand-off between layouts (brief §4): a target-TP group runs the target
// for the micro-batches of every draft-DP position among its members; the
// features come out whole on each member, and each rank keeps its own
// position's. Where draft TP is wider than target TP, the target groups
// inside one draft-TP group compute the same micro-batch.
#pragma once

#include <optional>
#include <vector>

#include "talon/model/target_model.h"
#include "talon/train/feature_source.h"

namespace talon::train {

class OnlineFeatures : public FeatureSource {
 public:
  // distribution: the draft vocabulary and the target's lm_head rows of
  // this rank's block of it (all of it without draft TP), when the method
  // reads the distribution.
  OnlineFeatures(const model::TargetModel& target, std::vector<int> aux_layers,
                 std::optional<DistributionReads> distribution);
  // The batch moved to the target's device, with its features.
  model::DraftBatch make(const data::Batch& batch) const;
  // Runs the target for the positions this rank's target-TP group serves.
  std::optional<model::DraftBatch> make_round(const std::vector<std::optional<data::Batch>>& round,
                                            const parallel::Layout& layout) const override;

 private:
  const model::TargetModel& target_;
  std::vector<int> aux_layers_;
  std::optional<DistributionReads> distribution_;  // on the target's device
};

}  // namespace talon::train
