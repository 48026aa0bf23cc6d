// The trainer's state, shared by trainer_setup.cpp (building and checking
// it) and trainer.cpp (the loop). Private to the train library.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "talon/data/hidden_state_cache.h"
#include "talon/data/prepared_dataset.h"
#include "talon/eval/decoding.h"
#include "talon/model/eagle3/draft_checkpoint.h"
#include "talon/model/draft_method.h"
#include "talon/model/target_model.h"
#include "talon/parallel/process_groups.h"
#include "talon/track/metrics_log.h"
#include "talon/track/tensorboard_writer.h"
#include "talon/train/checkpointer.h"
#include "talon/train/data_cursor.h"
#include "talon/train/draft_methods.h"
#include "talon/train/draft_optimizer.h"
#include "talon/train/lr_schedule.h"
#include "talon/train/feature_source.h"
#include "talon/train/train_options.h"
#include "talon/train/training_state.h"
#include "talon/train/trainer.h"
#include "talon/util/dir_lock.h"

namespace talon::train {

// d2t/t2d of a vocab_mapping.safetensors or a Talon draft's
// model.safetensors, read and validated by data::VocabMapping::load.
model::DraftVocab load_draft_vocab(const std::string& path);

// --eval-acceptance-prompts, rendered and tokenized as `talon eval` does,
// and where their generations stop; no prompts when acceptance is not
// measured.
struct AcceptancePrompts {
  std::vector<eval::Tokens> prompts;
  eval::GenerationLimits limits;
};

struct Trainer::Run {
  // Members are built in this order by the constructor (trainer_setup.cpp),
  // each from the ones above it.
  TrainOptions options;
  parallel::ProcessGroups& groups;
  std::optional<util::DirLock> output_lock;  // rank 0's, on options.output_dir, for the run's lifetime
  at::Device device;
  io::TargetConfig target_config;
  DraftPlan plan;  // --strategy's draft config, checked against the target (draft_methods.h)
  data::DatasetProvenance provenance;
  AcceptancePrompts acceptance;  // checked before the target loads
  // Online: the target in the loop. Offline (--train-hidden-states-path):
  // the caches, whose prepared datasets are the data, and no target layers.
  std::optional<model::TargetModel> target;
  std::optional<data::HiddenStateCache> train_cache, eval_cache;
  data::PreparedDataset train_data;
  std::optional<data::PreparedDataset> eval_data;
  std::unique_ptr<model::DraftMethod> method;  // the draft and how it learns (model/draft_method.h)
  std::shared_ptr<const FeatureSource> features, eval_features;  // built from the members above
  std::int64_t micro_batches_per_step = 1;  // global batch / micro batch, over all draft-DP ranks
  DataCursor cursor;
  LrSchedule schedule;
  DraftOptimizer optimizer;
  Checkpointer checkpointer;
  TrainingState state;  // counters; settings filled by the constructor
  std::optional<track::MetricsLog> metrics;  // rank 0
  std::optional<track::TensorBoardWriter> tensorboard;  // rank 0
  std::int64_t bad_steps_in_a_row = 0;
  std::optional<double> last_acceptance_length;  // of the latest evaluate_acceptance(), for the progress bar
  std::string last_checkpoint;  // written or resumed from, and its step
  std::int64_t last_checkpoint_step = -1;

  Run(TrainOptions options, parallel::ProcessGroups& groups);
  bool is_writer() const { return groups.rank() == 0; }
  bool offline() const { return !options.train_hidden_states_path.empty(); }
  // Restores the newest checkpoint's weights, optimizer, data position and
  // RNG; false when there is none.
  bool resume();
  void open_trackers(std::int64_t resume_step);
  // Accumulates one optimizer step's micro-batches, clips and updates: the
  // step's metrics record, or nullopt when it was skipped as non-finite.
  std::optional<nlohmann::json> train_step();
  void log(const nlohmann::json& record);  // metrics.jsonl and TensorBoard (rank 0)
  // Writes epoch_E_step_S (draft + training_state).
  void save();
  // One pass over the eval set, logged with "split": "eval".
  void evaluate();
  bool measures_acceptance() const { return options.eval_acceptance_interval > 0; }
  // Speculative decoding of acceptance_prompts with the draft as save()
  // writes it (BF16 weights), as `talon eval` decodes that checkpoint: the
  // acceptance length and per-depth rates, logged with "split": "acceptance".
  void evaluate_acceptance();
  // The rounds of one optimizer step (or eval pass): each rank's micro-batch
  // of each round through the method, the gradients of the step's
  // objective (when `train`), and the summed metrics. `epoch` seeds the
  // micro-batches' draws (data::batch_seed); eval passes use kEvalEpoch.
  struct Pass;
  static constexpr std::int64_t kEvalEpoch = -1;
  Pass run_rounds(const FeatureSource& source, const std::function<std::optional<data::Batch>()>& next, bool train,
                  std::int64_t epoch);
};

}  // namespace talon::train
