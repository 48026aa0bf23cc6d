// The one place that picks a draft method by --strategy
// (model/draft_method.h): its config read and checked against the target
// before anything loads, then the method built once the target (or the
// cache) and the data are there. The trainer, the cache builder and the
// tools see only the plan and the interface.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "talon/data/prepared_dataset.h"
#include "talon/eval/acceptance.h"
#include "talon/eval/draft_tree.h"
#include "talon/io/hf_config.h"
#include "talon/model/eagle3/draft_check.h"
#include "talon/model/draft_method.h"
#include "talon/model/dspark/dspark_config.h"
#include "talon/model/target_model.h"
#include "talon/parallel/process_groups.h"
#include "talon/train/feature_source.h"
#include "talon/train/train_options.h"

namespace talon::train {

// What the target gives a `strategy` draft whose config is `config_path`:
// the outputs of these layers (ascending), and data prepared with this
// draft vocabulary size (the target's whole vocabulary for the block
// drafters). `talon cache` stores what training will read.
struct DraftReads {
  std::vector<int> target_layers;
  std::int64_t draft_vocab_size = 0;
};
DraftReads draft_reads(model::Strategy strategy, const std::string& config_path, const io::TargetConfig& target);

// What a draft config says, checked against the target: everything needed
// before the draft's weights exist.
struct DraftPlan {
  model::Strategy strategy = model::Strategy::Eagle3;
  std::vector<int> target_layers;  // the target layers whose outputs the draft reads, ascending
  std::int64_t vocab_size = 0;       // the target's
  std::int64_t draft_vocab_size = 0;  // what data preparation maps the vocabulary to (V for the block drafters)
  nlohmann::json config;              // as the checkpoints hold it
  nlohmann::json settings = nlohmann::json::object();  // the method's options a resumed run must keep (none for EAGLE-3)
  // The config itself, for build_draft_method: EAGLE-3's, or the block
  // drafters' (a DFlash config leaves the Markov fields unused).
  std::optional<io::DraftConfig> eagle3;
  std::optional<model::DSparkConfig> block;
};

// Reads --draft-model-config as --strategy's config and checks it against
// the target and the options (layout, batch sizes, flags the method does
// not take); every problem is an error naming the flag or the field.
DraftPlan plan_draft(const TrainOptions& options, const io::TargetConfig& target,
                     const parallel::ProcessGroups& groups);

// What the method's weights come from besides its config: the loaded target
// (online; its embedding and lm_head are shared when its TP layout allows)
// or the target's files, and the training set (EAGLE-3's vocabulary
// mapping).
struct MethodInputs {
  const TrainOptions& options;
  const std::optional<model::TargetModel>& target;
  const data::PreparedDataset& train_data;
  const parallel::ProcessGroups& groups;
  at::Device device;
};
std::unique_ptr<model::DraftMethod> build_draft_method(const DraftPlan& plan, const MethodInputs& inputs);

// The target's distribution the method reads (EAGLE-3), if any; with its
// vocab_rows read from the target's files when `vocab_rows` (offline).
std::optional<DistributionReads> distribution_reads(const model::DraftMethod& method, const MethodInputs& inputs,
                                                    bool vocab_rows);

// Whether SGLang and vLLM would serve the `strategy` draft in `dir` as
// Talon computes it, against the target's config (named `target_name`).
model::DraftCheck check_draft(model::Strategy strategy, const std::string& dir, const io::TargetConfig& target,
                              const std::string& target_name);

// --resume: what a checkpoint must share with this run beyond the settings
// (EAGLE-3: its draft vocabulary); an error naming `checkpoint` otherwise.
void check_resumable(const model::DraftMethod& method, const std::string& checkpoint, const std::string& vocab_source);

// A trained `strategy` draft in `dir` ready to decode with `target` (on its
// device and dtype), as `talon eval` reads it: the target layers it reads and
// its proposer. EAGLE-3 drafts a tree of `shape`; DFlash and DSpark one
// block per round, their config's block_size - 1 and block_size drafts. The
// config is checked against the target before any weights load.
// Whether the method drafts a tree shaped by SGLang's --speculative-*
// flags (EAGLE-3), or a block per round its config sizes.
bool drafts_a_tree(model::Strategy strategy);

struct EvalDraft {
  std::vector<int> target_layers;
  std::int64_t depth = 0;          // the most drafts one verification can accept
  eval::ProposerFactory proposer;  // holds the draft
  std::string summary;             // one line: what drafts how
};
EvalDraft load_eval_draft(model::Strategy strategy, const std::string& dir, const model::TargetModel& target,
                          const std::string& target_dir, const eval::TreeShape& shape, model::WeightCheck check);

// Speculative decoding of `prompts` with the draft as save() writes it
// (BF16 weights read back in the compute dtype), as `talon eval` decodes
// that checkpoint, in chains of `steps` drafts.
eval::AcceptanceReport measure_draft_acceptance(const model::DraftMethod& method, const model::TargetModel& target,
                                                const std::vector<eval::Tokens>& prompts,
                                                const eval::GenerationLimits& limits, std::int64_t steps,
                                                at::Device device);

}  // namespace talon::train
