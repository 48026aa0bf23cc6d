// The draft's inputs computed by the target model in the loop ("online"):
// per micro-batch, the three aux layers and the target distribution over
// the draft vocabulary (brief §2, "Target features").
//
// Hand-off between layouts (brief §4): a target-TP group runs the target
// for the micro-batches of every draft-DP position among its members; the
// features come out whole on each member, and each rank keeps its own
// position's. Where draft TP is wider than target TP, the target groups
// inside one draft-TP group compute the same micro-batch.
#pragma once

#include <array>

#include "talon/model/target_model.h"
#include "talon/train/feature_source.h"

namespace talon::train {

class OnlineFeatures : public FeatureSource {
 public:
  // draft_head: the target's lm_head rows of this rank's block of the draft
  // vocabulary (all of it without draft TP), on the target's device.
  OnlineFeatures(const model::TargetModel& target, std::array<int, 3> aux_layers, model::DraftVocab vocab,
                 at::Tensor draft_head);
  // The batch moved to the target's device, with its features.
  model::TttBatch make(const data::Batch& batch) const;
  // Runs the target for the positions this rank's target-TP group serves.
  std::optional<model::TttBatch> make_round(const std::vector<std::optional<data::Batch>>& round,
                                            const parallel::Layout& layout) const override;

 private:
  const model::TargetModel& target_;
  std::array<int, 3> aux_layers_;
  model::DraftVocab vocab_;  // on the target's device
  at::Tensor draft_head_;
};

}  // namespace talon::train
