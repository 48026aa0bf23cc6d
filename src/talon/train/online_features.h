// The draft's inputs computed by the target model in the loop ("online"):
// per micro-batch, the three aux layers and the target distribution over
// the draft vocabulary (brief §2, "Target features"). The offline source
// reading cached hidden states will produce the same TttBatch.
#pragma once

#include <array>

#include "talon/data/batcher.h"
#include "talon/model/target_model.h"
#include "talon/model/ttt.h"

namespace talon::train {

class OnlineFeatures {
 public:
  OnlineFeatures(const model::TargetModel& target, std::array<int, 3> aux_layers, model::DraftVocab vocab);
  // The batch moved to the target's device, with its features.
  model::TttBatch make(const data::Batch& batch) const;

 private:
  const model::TargetModel& target_;
  std::array<int, 3> aux_layers_;
  model::DraftVocab vocab_;  // on the target's device
  at::Tensor draft_head_;    // [Vd, H]: lm_head's rows of the draft vocabulary
};

}  // namespace talon::train
