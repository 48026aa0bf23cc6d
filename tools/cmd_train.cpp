// talon train: EAGLE-3, DFlash and DSpark training (--strategy), online or
// from a hidden-state cache (docs/training.md). The flags are a contract other tools rely on; they
// keep SpecForge's names. Started by
// `talon launch`, torchrun, mpirun or srun, each process is one rank of a
// parallel run (docs/parallel.md).
#include <fmt/format.h>

#include <optional>

#include "chat_template_flags.h"
#include "commands.h"
#include "flag_range.h"
#include "rank_runner.h"
#include "weight_check_flag.h"
#include "talon/train/trainer.h"

namespace talon::cli {

void add_train_command(CLI::App& app) {
  auto o = std::make_shared<train::TrainOptions>();
  auto system_prompt = std::make_shared<std::optional<std::string>>();
  auto quiet = std::make_shared<bool>(false);
  auto attention_backend = std::make_shared<std::string>("blockwise");
  auto no_recompute = std::make_shared<bool>(false);
  auto connect = std::make_shared<parallel::ConnectOptions>();
  auto strategy = std::make_shared<std::string>("eagle3");

  CLI::App* cmd = app.add_subcommand(
      "train", "Train a draft (EAGLE-3, DFlash, DSpark), with the target model in the loop or from cached hidden "
               "states");
  cmd->add_option("--strategy", *strategy,
                  "The draft method, SpecForge's names: eagle3, dflash (DFlashDraftModel) or dspark "
                  "(Qwen3DSparkModel); --draft-model-config is that method's config")
      ->check(CLI::IsMember({"eagle3", "dflash", "dspark"}))
      ->capture_default_str();
  cmd->add_option("--target-model-path", o->target_model_path, "Target model directory (Hugging Face layout)")
      ->required()
      ->check(CLI::ExistingDirectory);
  add_weight_check_flag(*cmd, o->target_weight_check);
  cmd->add_option("--draft-model-config", o->draft_model_config,
                  "Draft config.json: LlamaForCausalLMEagle3, DFlashDraftModel or Qwen3DSparkModel (--strategy)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--train-data-path", o->train_data_path,
                  "Conversation JSONL files (prepared on the fly, cached in OUTPUT_DIR/prepared) or a directory "
                  "written by `talon prepare` (online training: the target runs in the loop)")
      ->check(CLI::ExistingPath);
  cmd->add_option("--eval-data-path", o->eval_data_path, "Held-out data, same forms as --train-data-path")
      ->check(CLI::ExistingPath);
  cmd->add_option("--train-hidden-states-path", o->train_hidden_states_path,
                  "A hidden-state cache written by `talon cache` (offline training: no target layers are loaded; "
                  "instead of --train-data-path)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--eval-hidden-states-path", o->eval_hidden_states_path,
                  "Held-out hidden-state cache for an offline run")
      ->check(CLI::ExistingDirectory);
  add_chat_template_flags(*cmd, o->chat_template, true);
  cmd->add_option("--system-prompt", *system_prompt, "System prompt for conversations without one ('' for none)");
  cmd->add_option("--max-length", o->max_length, "Tokens kept per sample")
      ->check(flag_range("[2, inf)"))
      ->capture_default_str();
  cmd->add_option("--output-dir", o->output_dir, "Checkpoints, metrics.jsonl, tensorboard/ (locked while the run lasts)")
      ->required();
  cmd->add_option("--num-epochs", o->num_epochs, "Passes over the training set")
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  cmd->add_option("--max-steps", o->max_steps,
                  "Stop after this many optimizer steps (the schedule still spans --num-epochs; default: no limit)")
      ->check(flag_range("[1, inf)"));
  cmd->add_option("--learning-rate", o->learning_rate, "Peak learning rate")
      ->check(flag_range("[0, inf)"))
      ->capture_default_str();
  cmd->add_option("--warmup-ratio", o->warmup_ratio, "Share of the steps spent in linear warmup")
      ->check(flag_range("[0, 1]"))
      ->capture_default_str();
  cmd->add_option("--max-grad-norm", o->max_grad_norm,
                  "Clip gradients to this global L2 norm (0: no clipping, as in Hugging Face's Trainer)")
      ->check(flag_range("[0, inf)"))
      ->capture_default_str();
  cmd->add_option("--ttt-length", o->ttt_length, "Training-time-test steps T")
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seeds the draft's initialisation and the data order")
      ->check(flag_range("[0, 18446744073709551615]"))
      ->capture_default_str();
  cmd->add_option("--draft-global-batch-size", o->global_batch_size, "Samples per optimizer step")
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  cmd->add_option("--draft-micro-batch-size", o->micro_batch_size, "Samples per forward/backward pass")
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  cmd->add_option("--draft-vocab-size", o->draft_vocab_size, "Must equal the draft config's draft_vocab_size")
      ->check(flag_range("[1, inf)"));
  cmd->add_option("--init-draft", o->init_draft,
                  "Start from this draft: Talon's, SpecForge's, AngelSlim's or the EAGLE authors' "
                  "(docs/checkpoints.md); its config.json must compute what --draft-model-config does; without "
                  "draft_vocab_size its lm_head starts as the target's")
      ->check(CLI::ExistingDirectory);
  cmd->add_flag("--resume", o->resume, "Continue from the newest intact checkpoint in --output-dir (checksums verified; a damaged one is "
                "named and passed over)");
  cmd->add_option("--save-interval", o->save_interval, "Checkpoint every N steps and at the end (0: at the end only)")
      ->check(flag_range("[0, inf)"))
      ->capture_default_str();
  cmd->add_option("--eval-interval", o->eval_interval, "Evaluate every N steps (0: at the end only)")
      ->check(flag_range("[0, inf)"))
      ->capture_default_str();
  cmd->add_option("--eval-acceptance-interval", o->eval_acceptance_interval,
                  "Every N steps and at the end, decode --eval-acceptance-prompts speculatively with the draft as "
                  "saved and log the acceptance length, overall and per depth (0: off; online single-rank runs)")
      ->check(flag_range("[0, inf)"))
      ->capture_default_str();
  cmd->add_option("--eval-acceptance-prompts", o->eval_acceptance_prompts,
                  "Conversation JSONL for --eval-acceptance-interval; each line's last user turn is a prompt, as "
                  "in `talon eval --data-path`")
      ->check(CLI::ExistingFile);
  cmd->add_option("--eval-acceptance-num-prompts", o->eval_acceptance_num_prompts,
                  "Decode the first N of --eval-acceptance-prompts (0: all)")
      ->check(flag_range("[0, inf)"))
      ->capture_default_str();
  cmd->add_option("--eval-acceptance-max-new-tokens", o->eval_acceptance_max_new_tokens,
                  "Tokens generated per acceptance prompt, at most")
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  cmd->add_option("--eval-acceptance-num-steps", o->eval_acceptance_num_steps,
                  "Draft steps per verification when measuring acceptance (chain drafting)")
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  cmd->add_option("--keep-last", o->keep_last, "Keep only the newest K checkpoints (0: all)")
      ->check(flag_range("[0, inf)"))
      ->capture_default_str();
  cmd->add_option("--max-bad-steps", o->max_bad_steps, "Stop after K non-finite steps in a row")
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  cmd->add_option("--attention-backend", *attention_backend,
                  "TTT attention: blockwise (memory O(L)) or naive ([L, L] scores, the reference)")
      ->check(CLI::IsMember({"blockwise", "naive"}))
      ->capture_default_str();
  cmd->add_option("--head-chunk-size", o->step.head_chunk,
                  "Positions per chunk of the draft head and loss (0: the whole sequence at once)")
      ->check(flag_range("[0, inf)"))
      ->capture_default_str();
  cmd->add_flag("--no-recompute", *no_recompute,
                "Keep the draft layer's activations instead of recomputing them in the backward pass");
  cmd->add_option("--device", o->device, "cpu or cuda (each rank takes the GPU of its LOCAL_RANK)")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--tp-size", o->tp_size,
                  "Target tensor-parallel size: ranks sharing one copy of the target (must divide the world size)")
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  cmd->add_option("--draft-tp-size", o->draft_tp_size,
                  "Draft tensor-parallel size, independent of --tp-size; draft data parallelism is world / this")
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  // The block drafters (docs/training.md, "DFlash and DSpark").
  cmd->add_option("--num-anchors", o->num_anchors,
                  "dflash, dspark: blocks drawn per sample each step (default: the config's num_anchors, else 512)")
      ->check(flag_range("[1, inf)"));
  cmd->add_option("--mask-token-id", o->mask_token_id,
                  "dflash, dspark: the token of a block's unknown slots (default: the config's, else <|MASK|>, the "
                  "first unused embedding row, or the pad, eos or unk token)")
      ->check(flag_range("[0, inf)"));
  cmd->add_option("--loss-decay-gamma", o->loss_decay_gamma,
                  "dflash, dspark: weight exp(-(k-1)/gamma) (dflash) or exp(-k/gamma) (dspark) on block slot k "
                  "(default 7 for dflash, SpecForge's recipe; 4 for dspark, DeepSpec's; 0: no decay)")
      ->check(flag_range("[0, inf)"));
  cmd->add_option("--loss-type", o->loss_type,
                  "dflash: dflash (decayed cross-entropy) or a D-PACE weighting")
      ->check(CLI::IsMember({"dflash", "dpace", "dpace-cumulative-confidence-only", "dpace-continuation-value-only"}))
      ->capture_default_str();
  cmd->add_option("--dpace-alpha", o->dpace_alpha, "dflash: D-PACE's smoothing alpha")
      ->check(flag_range("[0, 1]"))
      ->capture_default_str();
  cmd->add_option("--dspark-ce-loss-alpha", o->dspark_ce_loss_alpha, "dspark: weight of the cross-entropy")
      ->check(flag_range("[0, inf)"))
      ->capture_default_str();
  cmd->add_option("--dspark-l1-loss-alpha", o->dspark_l1_loss_alpha,
                  "dspark: weight of the L1 distance to the target's distribution")
      ->check(flag_range("[0, inf)"))
      ->capture_default_str();
  cmd->add_option("--dspark-confidence-head-alpha", o->dspark_confidence_head_alpha,
                  "dspark: weight of the confidence head's loss")
      ->check(flag_range("[0, inf)"))
      ->capture_default_str();
  cmd->add_option("--loss-normalization", o->loss_normalization,
                  "dflash, dspark: step (one token-weighted mean over the optimizer step, SpecForge's; the same on "
                  "every layout) or micro-step (DeepSpec's mean of per-micro-step ratios; depends on the world size)")
      ->check(CLI::IsMember({"step", "micro-step"}))
      ->capture_default_str();
  cmd->add_option("--objective-chunk-blocks", o->objective_chunk_blocks,
                  "dflash, dspark: blocks per chunk of the full-vocabulary objective (0: all at once)")
      ->check(flag_range("[0, inf)"))
      ->capture_default_str();
  add_collective_flags(*cmd, *connect);
  cmd->add_flag("--quiet", *quiet, "No progress bar");

  cmd->callback([=] {
    train::TrainOptions options = *o;
    options.strategy = model::parse_strategy(*strategy);
    options.system_prompt = *system_prompt;
    options.show_progress = !*quiet;
    options.step.blockwise_attention = *attention_backend == "blockwise";
    options.step.recompute = !*no_recompute;
    parallel::ConnectOptions groups_options = *connect;
    groups_options.target_tp = options.tp_size;
    groups_options.draft_tp = options.draft_tp_size;
    groups_options.device = options.device == "cuda" ? at::kCUDA : at::kCPU;
    run_as_rank(groups_options, [&](parallel::ProcessGroups& groups) {
      const std::string checkpoint = train::Trainer(options, groups).run();
      if (groups.rank() == 0) fmt::print("checkpoint: {}\n", checkpoint);
    });
  });
}

}  // namespace talon::cli
