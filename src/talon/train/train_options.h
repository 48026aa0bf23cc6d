// Everything `talon train` is told, in one place; flags keep SpecForge's
// names (tools/cmd_train.cpp maps them 1:1). Defaults follow SpecForge.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "talon/model/draft_method.h"
#include "talon/model/eagle3/ttt.h"
#include "talon/model/weight_check.h"
#include "talon/text/chat_template.h"

namespace talon::train {

struct TrainOptions {
  model::Strategy strategy = model::Strategy::Eagle3;  // --strategy: eagle3, dflash or dspark
  std::string target_model_path;
  model::WeightCheck target_weight_check = model::WeightCheck::Sampled;  // --verify-target-weights: Full
  std::string draft_model_config;
  std::vector<std::string> train_data_path;  // JSONL files, or one prepared directory
  std::vector<std::string> eval_data_path;   // same; empty = no eval
  // Offline training: hidden-state caches written by `talon cache`, which
  // hold their own data; instead of train_data_path and eval_data_path.
  std::string train_hidden_states_path;
  std::string eval_hidden_states_path;  // empty = no eval
  text::ChatTemplateSettings chat_template;
  std::optional<std::string> system_prompt;  // nullopt: the template's default
  std::int64_t max_length = 2048;
  std::string output_dir;

  std::int64_t num_epochs = 1;
  std::optional<std::int64_t> max_steps;  // stops early; the schedule still spans num_epochs
  double learning_rate = 1e-4;
  double warmup_ratio = 0.015;
  double max_grad_norm = 0.5;
  int ttt_length = 7;
  std::uint64_t seed = 0;
  std::int64_t global_batch_size = 1;  // samples per optimizer step
  std::int64_t micro_batch_size = 1;   // samples per forward/backward
  std::optional<std::int64_t> draft_vocab_size;  // default: the draft config's

  std::string init_draft;  // a draft checkpoint directory to start from
  bool resume = false;
  std::int64_t save_interval = 1000;  // optimizer steps; a checkpoint is also written at the end
  std::int64_t eval_interval = 0;     // 0: eval only at the end
  // Speculative decoding of held-out prompts with the draft as it would be
  // saved (BF16) and the run's target, every N steps and at the end; 0: off.
  // Online single-rank runs only (the target decodes; see docs/training.md).
  std::int64_t eval_acceptance_interval = 0;
  std::string eval_acceptance_prompts;        // conversation JSONL, as `talon eval --data-path`
  std::int64_t eval_acceptance_num_prompts = 0;  // the first N (0: all)
  std::int64_t eval_acceptance_max_new_tokens = 64;
  std::int64_t eval_acceptance_num_steps = 3;  // chain drafting, as `talon eval --speculative-num-steps`
  std::int64_t keep_last = 0;         // 0: keep every checkpoint
  std::int64_t max_bad_steps = 10;    // non-finite steps in a row before giving up

  model::TttOptions step;  // how the TTT step is computed (long-context paths by default)

  // The block drafters (--strategy dflash, dspark; design dflash-dspark.md).
  std::optional<std::int64_t> num_anchors;       // blocks per sample; default: the config's, else 512
  std::optional<std::int64_t> mask_token_id;     // default: the config's, else resolved from the tokenizer
  std::optional<double> loss_decay_gamma;        // default: 7 (DFlash, SpecForge's recipe), 4 (DSpark, DeepSpec's)
  std::string loss_type = "dflash";              // DFlash: dflash, dpace, dpace-cumulative-confidence-only,
                                                 // dpace-continuation-value-only
  double dpace_alpha = 0.5;
  double dspark_ce_loss_alpha = 0.1;
  double dspark_l1_loss_alpha = 0.9;
  double dspark_confidence_head_alpha = 1.0;
  std::int64_t objective_chunk_blocks = 128;  // blocks per chunk of the objective (0: all at once)
  // "step": one ratio over the whole optimizer step (SpecForge; the same on
  // every layout); "micro-step": DeepSpec's mean of per-micro-step ratios.
  std::string loss_normalization = "step";

  std::string device = "cpu";  // "cpu" or "cuda" (cuda:LOCAL_RANK in a multi-process run)
  bool show_progress = true;

  // Parallel layout (brief §4), chosen independently; the world size comes
  // from the launcher. draft DP = world / draft_tp_size.
  int tp_size = 1;        // target tensor parallelism
  int draft_tp_size = 1;  // draft tensor parallelism
};

}  // namespace talon::train
