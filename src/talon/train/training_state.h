// What a checkpoint holds beyond the draft so that --resume continues
// exactly (docs/checkpoints.md): training_state/state.json with the
// counters, data position and run settings, and
// training_state/tensors.safetensors with the fp32 master weights
// ("master.<name>") and AdamW's moments and step ("exp_avg.<name>",
// "exp_avg_sq.<name>", "step"). The learning-rate schedule is a function of
// the step, and the data order of (seed, epoch): they need no other state.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "talon/train/adamw.h"

namespace talon::train {

struct TrainingState {
  std::int64_t step = 0;            // optimizer steps taken
  std::int64_t epoch = 0;           // data position: epoch and micro-batches
  std::int64_t batch_in_epoch = 0;  //   taken in it
  std::int64_t step_epoch = 0;      // the epoch of the last step's data (the E in epoch_E_step_S)
  std::int64_t skipped_steps = 0;   // non-finite steps skipped so far
  nlohmann::json settings;          // what must not change across a resume
};

void save_training_state(const std::string& dir, const TrainingState& state, const NamedTensors& tensors);

struct LoadedTrainingState {
  TrainingState state;
  NamedTensors tensors;  // read-only views of the mapped tensors file: copy before writing
};
LoadedTrainingState load_training_state(const std::string& dir);

// One error listing every setting of a resumed run that differs from the
// checkpoint's (the learning rate, batch sizes, seed, ...), before any compute.
void check_same_settings(const nlohmann::json& saved, const nlohmann::json& now, const std::string& checkpoint);

}  // namespace talon::train
