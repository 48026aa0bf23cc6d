// The trainer's side of checkpoints: what goes into training_state and how
// a resumed run puts it back (docs/checkpoints.md). Training draws no random
// numbers after the draft's initialisation: the data order is a function of
// (seed, epoch), so the seed and the data position are the whole RNG state.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include "talon/model/draft_checkpoint.h"
#include "talon/train/trainer_run.h"
#include "talon/util/error.h"

namespace talon::train {
namespace {

const std::string kMasterPrefix = "master.";

}  // namespace

void Trainer::Run::save() {
  state.epoch = cursor.epoch();
  state.batch_in_epoch = cursor.batch();
  NamedTensors tensors;
  for (const auto& [name, master] : masters.masters()) tensors.emplace_back(kMasterPrefix + name, master.detach());
  for (const auto& entry : optimizer.state()) tensors.push_back(entry);
  last_checkpoint = checkpointer.save(state.step_epoch, state.step, [&](const std::string& dir) {
    model::save_draft_checkpoint(dir, draft, vocab);
    save_training_state(dir, state, tensors);
  });
  last_checkpoint_step = state.step;
}

bool Trainer::Run::resume() {
  std::optional<std::string> newest = checkpointer.newest();
  if (!newest) {
    fmt::print(stderr, "--resume: no checkpoint in {}; starting from step 0\n", options.output_dir);
    return false;
  }
  LoadedTrainingState loaded = load_training_state(*newest);
  check_same_settings(loaded.state.settings, state.settings, *newest);
  // The lm_head rows mean the checkpoint's draft vocabulary; this run's must be the same.
  model::DraftVocab saved = load_draft_vocab(*newest + "/model.safetensors");
  if (!at::equal(saved.d2t, vocab.d2t.cpu()) || !at::equal(saved.t2d, vocab.t2d.cpu())) {
    fail("cannot resume from {}: its draft vocabulary (d2t/t2d) differs from this run's (from {})", *newest,
         options.init_draft.empty() ? train_data.vocab_mapping_path() : options.init_draft);
  }

  NamedTensors optimizer_state;
  std::map<std::string, at::Tensor> master_values;
  for (auto& [name, value] : loaded.tensors) {
    if (name.rfind(kMasterPrefix, 0) == 0) {
      master_values[name.substr(kMasterPrefix.size())] = value;
    } else {
      optimizer_state.emplace_back(name, value);
    }
  }
  {
    at::NoGradGuard no_grad;
    for (const auto& [name, master] : masters.masters()) {
      auto it = master_values.find(name);
      if (it == master_values.end()) fail("{}/training_state: missing tensor {}{}", *newest, kMasterPrefix, name);
      if (it->second.sizes() != master.sizes()) {
        fail("{}/training_state: {}{} has the wrong shape", *newest, kMasterPrefix, name);
      }
      master.copy_(it->second);
    }
  }
  optimizer.load_state(optimizer_state);
  masters.copy_to_params();
  cursor.seek(loaded.state.epoch, loaded.state.batch_in_epoch);
  state.step = loaded.state.step;
  state.skipped_steps = loaded.state.skipped_steps;
  state.step_epoch = loaded.state.step_epoch;
  last_checkpoint = *newest;
  last_checkpoint_step = state.step;
  fmt::print(stderr, "resumed from {} (step {})\n", *newest, state.step);
  return true;
}

void Trainer::Run::open_trackers(std::int64_t resume_step) {
  metrics = track::MetricsLog::open(options.output_dir + "/metrics.jsonl", resume_step);
  tensorboard.emplace(options.output_dir + "/tensorboard",
                      resume_step >= 0 ? std::optional<std::int64_t>(resume_step) : std::nullopt);
}

}  // namespace talon::train
