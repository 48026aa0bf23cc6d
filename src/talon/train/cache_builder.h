// `talon cache`: runs the target over a dataset and writes the hidden-state
// cache that offline training reads (data/hidden_state_cache.h,
// docs/training.md "Offline training").
//
// Resumable: shards are written atomically and listed in index.json only
// once complete, so a run killed at any moment is continued by the next one
// with the same settings, which skips the listed shards. Over several
// processes each target-TP group writes every D-th remaining shard (D =
// target-DP size) and rank 0 indexes them after each round.
#pragma once

#include "talon/model/draft_method.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "talon/data/prepare.h"
#include "talon/model/weight_check.h"
#include "talon/parallel/process_groups.h"

namespace talon::train {

struct CacheOptions {
  std::string target_model_path;
  model::WeightCheck target_weight_check = model::WeightCheck::Sampled;  // --verify-target-weights: Full
  model::Strategy strategy = model::Strategy::Eagle3;  // --strategy: whose config draft_model_config is
  std::string draft_model_config;  // the target layers, and the draft vocabulary size for preparing
  // inputs: JSONL files, prepared into OUTPUT_DIR/prepared, or one directory
  // written by `talon prepare`, copied there; chat template, system prompt
  // and max_length as for training. The rest is filled from the configs.
  data::PrepareOptions data;
  std::string output_dir;
  at::ScalarType dtype = at::kBFloat16;  // of the stored hidden states: kBFloat16 or kFloat
  std::uint64_t shard_size = std::uint64_t{1} << 30;  // bytes of tensor data per shard, at most
  std::int64_t batch_size = 1;  // samples per target forward
  std::string device = "cpu";   // "cpu" or "cuda"
  bool show_progress = true;
};

struct CacheReport {
  std::int64_t samples = 0, tokens = 0;  // in the whole cache
  std::int64_t shards = 0;
  std::uint64_t bytes = 0;               // of the shard files
  std::int64_t written_tokens = 0;       // by this run
  double seconds = 0;                    // this run, from the target's load to the end
};

// Every rank of `groups` calls it (target TP from groups.target_tp()).
// Before loading the target it prints the space the cache needs and
// refuses when the disk has less free.
CacheReport build_cache(const CacheOptions& options, parallel::ProcessGroups& groups);

}  // namespace talon::train
