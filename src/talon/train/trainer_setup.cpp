// Building the trainer's components and checking, before any compute, that
// the target, the draft config, the data and the vocab mapping fit together.
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>

#include "talon/data/prepare.h"
#include "talon/data/vocab_mapping.h"
#include "talon/eval/prompts.h"
#include "talon/io/model_fingerprint.h"
#include "talon/io/safetensors.h"
#include "talon/model/eagle3/draft_checkpoint.h"
#include "talon/train/datasets.h"
#include "talon/train/device.h"
#include "talon/train/offline_features.h"
#include "talon/train/online_features.h"
#include "talon/train/trainer_run.h"
#include "talon/util/dir_lock.h"
#include "talon/util/error.h"

namespace talon::train {
namespace {

// Rank 0 writes the output directory, so it alone locks it: the ranks of
// one run do not lock each other out, and a second run fails at once.
std::optional<util::DirLock> lock_output_dir(const TrainOptions& options, const parallel::ProcessGroups& groups) {
  if (groups.rank() != 0) return std::nullopt;
  return std::optional<util::DirLock>(std::in_place, options.output_dir);
}

// Online runs read --train-data-path, offline runs a hidden-state cache,
// which holds its own data; each evaluates from the same kind of source.
void check_data_sources(const TrainOptions& options) {
  const bool offline = !options.train_hidden_states_path.empty();
  if (offline && !options.train_data_path.empty()) {
    fail("--train-data-path and --train-hidden-states-path: give one (a hidden-state cache holds its own data)");
  }
  if (!offline && options.train_data_path.empty()) fail("--train-data-path or --train-hidden-states-path is required");
  if (offline && !options.eval_data_path.empty()) {
    fail("--eval-data-path needs the target in the loop; an offline run evaluates from --eval-hidden-states-path");
  }
  if (!offline && !options.eval_hidden_states_path.empty()) {
    fail("--eval-hidden-states-path is for offline runs (--train-hidden-states-path); use --eval-data-path");
  }
  if (options.eval_acceptance_interval > 0 && options.eval_acceptance_prompts.empty()) {
    fail("--eval-acceptance-interval {} needs --eval-acceptance-prompts (conversations whose last user turns are "
         "decoded)",
         options.eval_acceptance_interval);
  }
  if (options.eval_acceptance_interval == 0 && !options.eval_acceptance_prompts.empty()) {
    fail("--eval-acceptance-prompts needs --eval-acceptance-interval N (N > 0: every N steps and at the end)");
  }
  if (offline && options.eval_acceptance_interval > 0) {
    fail("--eval-acceptance-interval decodes with the target: not with --train-hidden-states-path; run `talon eval` "
         "on the checkpoints instead");
  }
  if (offline && options.tp_size != 1) {
    fail("--tp-size {}: an offline run (--train-hidden-states-path) loads no target layers to split; leave it at 1",
         options.tp_size);
  }
}

// The checks every method shares; the method's own are plan_draft's.
DraftPlan load_checked_plan(const TrainOptions& options, const io::TargetConfig& target,
                            const parallel::ProcessGroups& groups) {
  check_data_sources(options);
  if (options.eval_acceptance_interval > 0 && groups.world_size() > 1) {
    fail("--eval-acceptance-interval: not in a multi-rank run yet (world size {}); run `talon eval` on the "
         "checkpoints instead",
         groups.world_size());
  }
  const parallel::Layout& layout = groups.layout();
  DraftPlan plan = plan_draft(options, target, groups);
  // Every optimizer step takes global / micro micro-batches, dealt out evenly to the draft-DP ranks.
  const std::int64_t draft_dp = layout.draft_dp();
  if (options.global_batch_size <= 0 || options.micro_batch_size <= 0 ||
      options.global_batch_size % (options.micro_batch_size * draft_dp) != 0) {
    fail("--draft-global-batch-size {} must be a positive multiple of --draft-micro-batch-size {}{}",
         options.global_batch_size, options.micro_batch_size,
         draft_dp == 1 ? std::string()
                       : fmt::format(" times the draft data-parallel size {} (world {} / --draft-tp-size {})",
                                     draft_dp, layout.world, layout.draft_tp));
  }
  if (options.num_epochs < 1) fail("--num-epochs must be at least 1, found {}", options.num_epochs);
  return plan;
}

data::PrepareOptions prepare_settings(const TrainOptions& options, const DraftPlan& plan) {
  data::PrepareOptions p;
  p.tokenizer_dir = options.target_model_path;
  p.vocab_size = plan.vocab_size;
  p.chat_template = options.chat_template;
  p.system_prompt = options.system_prompt;
  p.max_length = options.max_length;
  p.draft_vocab_size = plan.draft_vocab_size;
  p.show_progress = options.show_progress;
  return p;
}

AcceptancePrompts load_acceptance_prompts(const TrainOptions& options, const io::TargetConfig& target_config) {
  if (options.eval_acceptance_interval == 0) return {};
  const text::Tokenizer tokenizer = text::Tokenizer::load(options.target_model_path);
  const text::ChatTemplate chat_template = text::resolve_template(options.chat_template, options.target_model_path);
  return {eval::load_prompts(options.eval_acceptance_prompts, tokenizer, chat_template, options.system_prompt,
                             options.eval_acceptance_num_prompts,
                             {options.eval_acceptance_max_new_tokens, target_config.max_position_embeddings,
                              "--eval-acceptance-max-new-tokens"}),
          {options.eval_acceptance_max_new_tokens, {eval::end_of_turn_id(tokenizer, chat_template)}}};
}

std::optional<model::TargetModel> load_target(const TrainOptions& options, at::Device device,
                                              const parallel::ProcessGroups& groups) {
  if (!options.train_hidden_states_path.empty()) return std::nullopt;  // offline: no decoder layers
  return model::TargetModel::load(options.target_model_path, device, compute_dtype(device), groups.target_tp(),
                                  options.target_weight_check);
}

// A hidden-state cache this run may train on: made from this target, with
// the draft config's aux layers, from data prepared as this run would.
std::optional<data::HiddenStateCache> open_cache(const std::string& dir, const TrainOptions& options,
                                                 const io::TargetConfig& target, const std::vector<int>& aux_layers,
                                                 const data::DatasetProvenance& expected) {
  if (dir.empty()) return std::nullopt;
  data::HiddenStateCache cache = data::HiddenStateCache::open(dir);
  const data::CacheSettings& s = cache.settings();
  std::string problems = cache.dataset().differences(expected);
  if (s.hidden_size != target.hidden_size) {
    problems += fmt::format("; hidden_size is {} but the target's is {}", s.hidden_size, target.hidden_size);
  }
  if (s.aux_layers != aux_layers) {
    problems += fmt::format("; its target layers are {} but the draft config reads {}", fmt::join(s.aux_layers, ","),
                            fmt::join(aux_layers, ","));
  }
  if (s.target_fingerprint != io::model_fingerprint(options.target_model_path)) {
    problems += fmt::format("; it was made from another target ({}) than {}", cache.index().target_model_path,
                            options.target_model_path);
  }
  if (!problems.empty()) {
    fail("{}: the hidden-state cache was made with different settings{}", data::CacheIndex::path(dir), problems);
  }
  return cache;
}

std::int64_t total_steps(const TrainOptions& options, const DataCursor& cursor, std::int64_t per_step) {
  return options.num_epochs * ((cursor.batches_per_epoch() + per_step - 1) / per_step);
}

}  // namespace

model::DraftVocab load_draft_vocab(const std::string& path) {
  data::VocabMapping mapping = data::VocabMapping::load(path);
  return {at::tensor(mapping.d2t), at::tensor(mapping.t2d).to(at::kBool)};
}

Trainer::Run::Run(TrainOptions o, parallel::ProcessGroups& g)
    : options(std::move(o)),
      groups(g),
      output_lock(lock_output_dir(options, g)),
      device(parse_device(options.device, g.local_rank())),
      target_config(io::load_target_config(options.target_model_path)),
      plan(load_checked_plan(options, target_config, g)),
      provenance(expected_provenance(prepare_settings(options, plan))),
      acceptance(load_acceptance_prompts(options, target_config)),
      target(load_target(options, device, g)),
      train_cache(open_cache(options.train_hidden_states_path, options, target_config, plan.target_layers, provenance)),
      eval_cache(open_cache(options.eval_hidden_states_path, options, target_config, plan.target_layers, provenance)),
      train_data(train_cache ? train_cache->dataset()
                             : open_shared_dataset(g, options.train_data_path, options.output_dir + "/prepared/train",
                                                   prepare_settings(options, plan), provenance)),
      method(build_draft_method(plan, {options, target, train_data, g, device})),
      micro_batches_per_step(options.global_batch_size / options.micro_batch_size),
      cursor(train_data.size(), options.micro_batch_size, options.seed),
      schedule(options.learning_rate, total_steps(options, cursor, micro_batches_per_step), options.warmup_ratio),
      optimizer(method->parameters(), method->shards(), g),
      checkpointer(options.output_dir, options.keep_last, g.rank() == 0,
                   [strategy = plan.strategy, target = target_config, name = options.target_model_path](
                       const std::string& dir) { return check_draft(strategy, dir, target, name); }) {
  if (!options.resume && checkpointer.newest()) {
    fail("{} already holds checkpoints of an earlier run: pass --resume to continue it, or choose another "
         "--output-dir",
         options.output_dir);
  }
  if (eval_cache) eval_data = eval_cache->dataset();
  if (!options.eval_data_path.empty()) {
    eval_data = open_shared_dataset(groups, options.eval_data_path, options.output_dir + "/prepared/eval",
                                    prepare_settings(options, plan), provenance);
  }
  check_fits_target_positions(train_data, target_config, options.target_model_path);
  if (eval_data) check_fits_target_positions(*eval_data, target_config, options.target_model_path);
  const MethodInputs inputs{options, target, train_data, groups, device};
  if (target) {
    features = eval_features =
        std::make_shared<OnlineFeatures>(*target, plan.target_layers, distribution_reads(*method, inputs, false));
  } else {
    const std::optional<DistributionReads> distribution = distribution_reads(*method, inputs, true);
    auto offline = [&](const data::HiddenStateCache& cache) {
      return std::make_shared<OfflineFeatures>(cache, distribution, groups.draft_tp(), device, compute_dtype(device));
    };
    features = offline(*train_cache);
    if (eval_cache) eval_features = offline(*eval_cache);
  }
  state.settings = {
      {"learning_rate", options.learning_rate},   {"warmup_ratio", options.warmup_ratio},
      {"max_grad_norm", options.max_grad_norm},   {"ttt_length", options.ttt_length},
      {"seed", options.seed},                     {"global_batch_size", options.global_batch_size},
      {"micro_batch_size", options.micro_batch_size}, {"num_epochs", options.num_epochs},
      {"total_steps", schedule.total_steps},      {"train_data", train_data.header().at("files")},
      {"draft_config", plan.config},              {"device", options.device},
  };
  state.settings.update(plan.settings);
}

}  // namespace talon::train
