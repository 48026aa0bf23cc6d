// The EAGLE-3 trainer (docs/training.md). It composes the pieces, each its
// own component: data (prepared dataset + DataCursor), the draft's inputs
// (a FeatureSource: the target in the loop, or a hidden-state cache), the
// draft and its TTT loss (model/eagle3/ttt.h), optimizer (MasterWeights + AdamW +
// clipping), schedule (LrSchedule), checkpointer, and trackers
// (metrics.jsonl, TensorBoard, progress). Every rank of a run builds one
// over the same process groups; rank 0 alone writes checkpoints, metrics
// and progress.
#pragma once

#include <memory>

#include "talon/parallel/process_groups.h"
#include "talon/train/train_options.h"

namespace talon::train {

class Trainer {
 public:
  // Loads the target (or opens the hidden-state cache), the data and the
  // draft and checks that they fit together; every mismatch is an error
  // here, before any compute. With options.resume, continues from the
  // newest complete checkpoint (of any layout). `groups` must outlive the
  // trainer.
  Trainer(TrainOptions options, parallel::ProcessGroups& groups);
  ~Trainer();

  // Trains to the end of the last epoch, or to max_steps; checkpoints every
  // save_interval steps and at the end. Returns the last checkpoint's path.
  std::string run();

 private:
  struct Run;
  std::unique_ptr<Run> run_;
};

}  // namespace talon::train
