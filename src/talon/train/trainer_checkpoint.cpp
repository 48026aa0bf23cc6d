// The trainer's side of checkpoints: what goes into training_state and how
// a resumed run puts it back (docs/checkpoints.md). Training draws no random
// numbers after the draft's initialisation: the data order is a function of
// (seed, epoch), so the seed and the data position are the whole RNG state.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include "talon/train/trainer_run.h"
#include "talon/util/error.h"

namespace talon::train {

namespace {

// training_state/tensors.safetensors names the masters "master.<name>".
const std::string kMasterPrefix = "master.";

}  // namespace

// The optimizer's state is gathered from every rank; rank 0 writes it, and
// the draft's whole weights are its masters.
void Trainer::Run::save() {
  state.epoch = cursor.epoch();
  state.batch_in_epoch = cursor.batch();
  const DraftOptimizer::State full = optimizer.full_state(is_writer());
  last_checkpoint = checkpointer.save(state.step_epoch, state.step, [&](const std::string& dir) {
    NamedTensors tensors;
    for (const auto& [name, master] : full.masters) tensors.emplace_back(kMasterPrefix + name, master);
    tensors.insert(tensors.end(), full.adamw.begin(), full.adamw.end());
    method->save(dir, full.masters);
    save_training_state(dir, state, tensors);
  });
  last_checkpoint_step = state.step;
}

bool Trainer::Run::resume() {
  std::optional<std::string> newest = checkpointer.newest_intact();
  std::optional<LoadedTrainingState> loaded;
  if (newest) loaded = load_training_state(*newest);
  // Every rank must take the same checkpoint: one output directory, shared by all.
  const std::int64_t step = loaded ? loaded->state.step : -1;
  at::Tensor seen = at::tensor(std::vector<std::int64_t>{step, -step}, at::TensorOptions().device(device));
  groups.world().all_reduce(seen, parallel::ReduceOp::Max);
  if (seen[0].item<std::int64_t>() != step || -seen[1].item<std::int64_t>() != step) {
    fail("--resume: the ranks see different newest checkpoints in {} (steps {} to {}; -1: none): --output-dir must "
         "be one directory that every rank shares",
         options.output_dir, -seen[1].item<std::int64_t>(), seen[0].item<std::int64_t>());
  }
  if (!loaded) {
    if (is_writer()) fmt::print(stderr, "--resume: no checkpoint in {}; starting from step 0\n", options.output_dir);
    return false;
  }
  check_same_settings(loaded->state.settings, state.settings, *newest);
  check_resumable(*method, *newest,
                  options.init_draft.empty() ? train_data.vocab_mapping_path() : options.init_draft);
  DraftOptimizer::State full;
  for (auto& [name, value] : loaded->tensors) {
    if (name.rfind(kMasterPrefix, 0) == 0) {
      full.masters.emplace_back(name.substr(kMasterPrefix.size()), value);
    } else {
      full.adamw.emplace_back(name, value);
    }
  }
  optimizer.load_full_state(full, *newest + "/training_state");
  cursor.seek(loaded->state.epoch, loaded->state.batch_in_epoch);
  state.step = loaded->state.step;
  state.skipped_steps = loaded->state.skipped_steps;
  state.step_epoch = loaded->state.step_epoch;
  last_checkpoint = *newest;
  last_checkpoint_step = state.step;
  if (is_writer()) fmt::print(stderr, "resumed from {} (step {})\n", *newest, state.step);
  return true;
}

void Trainer::Run::open_trackers(std::int64_t resume_step) {
  if (!is_writer()) return;
  metrics = track::MetricsLog::open(options.output_dir + "/metrics.jsonl", resume_step);
  tensorboard.emplace(options.output_dir + "/tensorboard",
                      resume_step >= 0 ? std::optional<std::int64_t>(resume_step) : std::nullopt);
}

}  // namespace talon::train
