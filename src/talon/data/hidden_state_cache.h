// An offline hidden-state cache: what `talon cache` writes and
// `talon train --train-hidden-states-path` reads (docs/formats.md):
//   DIR/index.json                 settings, the complete shards, "complete"
//   DIR/prepared/                  the prepared dataset the shards were made
//                                  from (tokens, vocab mapping)
//   DIR/shard-NNNNN.safetensors    consecutive samples (hidden_state_shard.h)
// Which samples go into which shard depends only on the sample lengths and
// the settings (plan_shards), so any number of processes can share the work
// and a rerun continues where a stopped one left off.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "talon/data/hidden_state_shard.h"
#include "talon/data/prepared_dataset.h"

namespace talon::data {

// What the shards' contents depend on; a cache made with other settings is
// refused (by `talon cache` resuming it and by training).
struct CacheSettings {
  nlohmann::json dataset;          // the prepared dataset's "files" (sizes, XXH64): which samples
  std::string target_fingerprint;  // io::model_fingerprint of the target
  std::vector<int> aux_layers{};
  std::int64_t hidden_size = 0;
  at::ScalarType dtype = at::kBFloat16;  // kBFloat16 or kFloat
  std::uint64_t shard_size = 0;          // bytes of tensor data a shard holds at most (one sample may exceed it)

  nlohmann::json to_json() const;
  static CacheSettings from_json(const nlohmann::json& json);
  std::string id() const;  // hex XXH64 of to_json(): stamped into every shard
  // input_ids (4) + loss_mask (1) + aux and final hidden state ((m + 1) H elements).
  std::uint64_t bytes_per_token() const;
  ShardFormat shard_format() const {
    return {id(), hidden_size, static_cast<std::int64_t>(aux_layers.size()), dtype};
  }
};

// One shard of the plan.
struct PlannedShard {
  std::string file;  // shard-NNNNN.safetensors, numbered from 0
  std::int64_t first_sample = 0, num_samples = 0, num_tokens = 0;
  std::uint64_t bytes = 0;  // the file's size, estimated from above
};

// Consecutive samples in dataset order, each shard as many as fit in
// settings.shard_size bytes of tensor data, at least one.
std::vector<PlannedShard> plan_shards(const PreparedDataset& data, const CacheSettings& settings);

// index.json. Written atomically; lists a shard only once its file is
// complete, so a partially written shard is never listed.
struct CacheIndex {
  CacheSettings settings;
  std::string target_model_path;  // informational: where the target was
  std::int64_t num_samples = 0, num_tokens = 0;
  std::vector<ShardRecord> shards;  // complete ones, ascending first_sample
  bool complete = false;

  static std::string path(const std::string& dir) { return dir + "/index.json"; }
  static std::optional<CacheIndex> load(const std::string& dir);  // nullopt when there is no index.json
  void save(const std::string& dir) const;
};

class HiddenStateCache {
 public:
  // Reads a complete cache: the index, the prepared dataset (which must be
  // the one the settings name) and every shard's fast check
  // (HiddenStateShard::open). Errors name the file.
  static HiddenStateCache open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const CacheIndex& index() const { return index_; }
  const CacheSettings& settings() const { return index_.settings; }
  const PreparedDataset& dataset() const { return dataset_; }
  std::size_t size() const { return dataset_.size(); }

  // Sample `index`, its checksum verified.
  CachedSample sample(std::size_t index) const;
  // Every sample's checksum, and its tokens against the prepared dataset;
  // throws at the first problem, naming the shard. `done` is called after
  // each shard.
  void verify(const std::function<void(const ShardRecord&)>& done = {}) const;

 private:
  HiddenStateCache(std::string dir, CacheIndex index, PreparedDataset dataset)
      : dir_(std::move(dir)), index_(std::move(index)), dataset_(std::move(dataset)) {}
  std::string dir_;
  CacheIndex index_;
  PreparedDataset dataset_;
  std::vector<HiddenStateShard> shards_;  // in index order
};

}  // namespace talon::data
