#include "talon/train/cache_builder.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "talon/data/batcher.h"
#include "talon/data/hidden_state_cache.h"
#include "talon/io/hf_config.h"
#include "talon/io/model_fingerprint.h"
#include "talon/model/target_model.h"
#include "talon/train/datasets.h"
#include "talon/train/device.h"
#include "talon/train/draft_methods.h"
#include "talon/util/atomic_file.h"
#include "talon/util/dir_lock.h"
#include "talon/util/error.h"
#include "talon/util/mmap_file.h"
#include "talon/util/progress.h"

namespace talon::train {
namespace {

namespace fs = std::filesystem;

// OUTPUT_DIR/prepared: prepared there from JSONL, or copied there from a
// prepared directory, so that the cache holds its own data. An existing
// cache is never given other data: that is an error before anything moves.
data::PreparedDataset stage_dataset(const CacheOptions& options, const data::PrepareOptions& settings,
                                    const data::DatasetProvenance& expected, bool cache_exists) {
  const std::string staged_dir = options.output_dir + "/prepared";
  const std::vector<std::string>& inputs = settings.inputs;
  std::optional<data::PreparedDataset> staged;
  if (fs::exists(staged_dir + "/header.json")) staged = data::PreparedDataset::open(staged_dir);
  // Names what differs: the data settings, else the samples themselves.
  auto refuse = [&] {
    std::string why = staged ? staged->differences(expected) : "; its prepared/ is missing";
    if (why.empty()) why = "; its prepared/ holds other samples (other input files or --draft-vocab-size)";
    fail("{} holds a cache of other data{}: choose another --output-dir", options.output_dir, why);
  };
  if (inputs.empty()) fail("--data-path: no input given");
  if (inputs.size() != 1 || !fs::is_directory(inputs[0])) {
    if (cache_exists && !(staged && data::is_prepared_from(*staged, settings, expected))) refuse();
    return open_dataset(inputs, staged_dir, settings, expected);
  }
  data::PreparedDataset source = data::PreparedDataset::open(inputs[0]);
  source.check_compatible(expected);
  if (staged && staged->header().at("files") == source.header().at("files")) return *staged;
  if (cache_exists) refuse();
  util::AtomicDir copy(staged_dir, data::kPreparedDatasetKind);
  for (const fs::directory_entry& entry : fs::directory_iterator(inputs[0])) {
    if (!entry.is_regular_file()) continue;
    // Through AtomicFile, which syncs what it writes, as AtomicDir expects.
    const util::MmapFile from(entry.path().string());
    util::AtomicFile to(copy.file(entry.path().filename().string()));
    to.write(from.data(), from.size());
    to.commit();
  }
  copy.commit();
  return data::PreparedDataset::open(staged_dir);
}

void check_same_settings(const data::CacheSettings& found, const data::CacheSettings& wanted,
                         const std::string& index) {
  const nlohmann::json have = found.to_json(), want = wanted.to_json();
  std::string problems;
  for (const auto& [key, value] : have.items()) {
    if (value != want.at(key)) {
      problems += fmt::format("; {} is {} but this run's is {}", key, value.dump(), want.at(key).dump());
    }
  }
  if (!problems.empty()) {
    fail("{}: the cache was made with other settings{}: use the same ones to continue it, or another --output-dir",
         index, problems);
  }
}

// Temp files of writers that were killed: never indexed, safe to delete.
void remove_stale_temp_files(const std::string& dir) {
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.find(".tmp.") != std::string::npos &&
        (name.rfind("shard-", 0) == 0 || name.rfind("index.json", 0) == 0)) {
      fs::remove(entry.path());
    }
  }
}

// The index this run continues (rank 0): an existing one with the same
// settings keeps its shards that still pass the fast check and match the
// plan; a shard that fails is written again. Not saved yet.
data::CacheIndex start_index(const CacheOptions& options, const data::CacheSettings& settings,
                             const data::PreparedDataset& dataset, const std::vector<data::PlannedShard>& plan,
                             std::optional<data::CacheIndex> existing) {
  data::CacheIndex index;
  index.settings = settings;
  index.num_samples = static_cast<std::int64_t>(dataset.size());
  index.num_tokens = static_cast<std::int64_t>(dataset.num_tokens());
  index.target_model_path = options.target_model_path;
  if (existing) {
    check_same_settings(existing->settings, settings, data::CacheIndex::path(options.output_dir));
    std::unordered_map<std::string, const data::PlannedShard*> planned;
    for (const data::PlannedShard& p : plan) planned.emplace(p.file, &p);
    for (const data::ShardRecord& record : existing->shards) {
      auto it = planned.find(record.file);
      try {
        if (it == planned.end() || it->second->first_sample != record.first_sample ||
            it->second->num_samples != record.num_samples) {
          fail("{}: not a shard of this cache's plan", record.file);
        }
        data::HiddenStateShard::open(options.output_dir, record, settings.shard_format());
        index.shards.push_back(record);
      } catch (const Error& e) {
        fmt::print(stderr, "warning: {}; writing it again\n", e.what());
      }
    }
  }
  index.complete = index.shards.size() == plan.size();  // checked above: each is a planned one
  return index;
}

// The planned shards `index` does not list yet, in plan order.
std::vector<data::PlannedShard> unindexed(const std::vector<data::PlannedShard>& plan, const data::CacheIndex& index) {
  std::unordered_set<std::string> listed;
  for (const data::ShardRecord& r : index.shards) listed.insert(r.file);
  std::vector<data::PlannedShard> left;
  for (const data::PlannedShard& shard : plan) {
    if (listed.count(shard.file) == 0) left.push_back(shard);
  }
  return left;
}

// Prints what the cache needs and refuses when the disk has less free.
void check_disk_space(const std::string& dir, const data::CacheIndex& index,
                      const std::vector<data::PlannedShard>& plan) {
  std::uint64_t total = 0, needed = 0;
  for (const data::PlannedShard& shard : plan) total += shard.bytes;
  const std::vector<data::PlannedShard> remaining = unindexed(plan, index);
  for (const data::PlannedShard& shard : remaining) needed += shard.bytes;
  const std::size_t left = remaining.size();
  const std::uint64_t free = fs::space(dir).available;
  using util::format_bytes;
  fmt::print(stderr, "cache: {} samples, {} tokens at {} bytes/token: {} in {} shards; {} to write in {} shards, {} "
                     "free in {}\n",
             index.num_samples, index.num_tokens, index.settings.bytes_per_token(), format_bytes(total), plan.size(),
             format_bytes(needed), left, format_bytes(free), dir);
  if (needed > free) {
    fail("{}: the cache needs {} ({} bytes) more but the disk has {} ({} bytes) free", dir, format_bytes(needed),
         needed, format_bytes(free), free);
  }
}

// The target's aux layers and final hidden state for the shard's samples,
// a batch of `batch_size` samples per forward, cut back to their lengths.
std::vector<data::HiddenStateSample> compute_shard(const model::TargetModel& target,
                                                   const data::PreparedDataset& dataset,
                                                   const data::PlannedShard& shard,
                                                   const std::vector<int>& aux_layers, std::int64_t batch_size,
                                                   at::ScalarType dtype) {
  std::vector<data::HiddenStateSample> samples;
  const std::int64_t end = shard.first_sample + shard.num_samples;
  for (std::int64_t first = shard.first_sample; first < end; first += batch_size) {
    std::vector<std::size_t> indices;
    for (std::int64_t k = first; k < std::min(end, first + batch_size); ++k) {
      indices.push_back(static_cast<std::size_t>(k));
    }
    const data::Batch batch = data::make_batch(dataset, indices);
    const model::TargetFeatures features = target.forward(batch.input_ids, aux_layers);
    for (std::size_t row = 0; row < indices.size(); ++row) {
      const auto r = static_cast<std::int64_t>(row);
      const std::int64_t n = batch.lengths[r].item<std::int64_t>();
      samples.push_back({static_cast<std::int64_t>(indices[row]), batch.input_ids[r].narrow(0, 0, n).to(at::kInt),
                         batch.loss_mask[r].narrow(0, 0, n).to(at::kByte),
                         // copies: a view would keep the whole padded batch alive
                         features.aux[r].narrow(0, 0, n).to(at::kCPU, dtype, false, true),
                         features.hidden[r].narrow(0, 0, n).to(at::kCPU, dtype, false, true)});
    }
  }
  return samples;
}

// Fault injection for the resume tests: TALON_CACHE_KILL_AFTER_SHARDS=N
// kills this process right after its N-th shard is in place but before
// rank 0 lists it in the index, the worst moment to be stopped.
void maybe_kill(std::int64_t written) {
  static const char* limit = std::getenv("TALON_CACHE_KILL_AFTER_SHARDS");
  if (limit != nullptr && written == std::atoll(limit)) ::raise(SIGKILL);
}

}  // namespace

CacheReport build_cache(const CacheOptions& options, parallel::ProcessGroups& groups) {
  if (options.batch_size < 1) fail("--batch-size must be at least 1, found {}", options.batch_size);
  if (options.shard_size == 0) fail("--shard-size must be positive");
  // Rank 0 indexes the cache, so it alone locks it: one run's ranks share it,
  // a second run fails at once.
  std::optional<util::DirLock> lock;
  if (groups.rank() == 0) lock.emplace(options.output_dir);
  const io::TargetConfig target_config = io::load_target_config(options.target_model_path);
  const DraftReads reads = draft_reads(options.strategy, options.draft_model_config, target_config);
  data::PrepareOptions prepare = options.data;
  prepare.tokenizer_dir = options.target_model_path;
  prepare.vocab_size = target_config.vocab_size;
  prepare.draft_vocab_size = reads.draft_vocab_size;
  prepare.show_progress = options.show_progress && groups.rank() == 0;
  const data::DatasetProvenance expected = expected_provenance(prepare);

  data::CacheSettings settings;
  settings.target_fingerprint = io::model_fingerprint(options.target_model_path);
  settings.aux_layers = reads.target_layers;
  settings.hidden_size = target_config.hidden_size;
  settings.dtype = options.dtype;
  settings.shard_size = options.shard_size;

  const std::string& dir = options.output_dir;
  std::optional<data::PreparedDataset> dataset;
  std::vector<data::PlannedShard> plan;
  groups.rank0_first([&] {
    fs::create_directories(dir);
    std::optional<data::CacheIndex> existing = data::CacheIndex::load(dir);
    dataset = stage_dataset(options, prepare, expected, existing.has_value());
    check_fits_target_positions(*dataset, target_config, options.target_model_path);
    settings.dataset = dataset->header().at("files");
    plan = data::plan_shards(*dataset, settings);
    if (groups.rank() == 0) {
      const data::CacheIndex index = start_index(options, settings, *dataset, plan, std::move(existing));
      remove_stale_temp_files(dir);
      check_disk_space(dir, index, plan);
      index.save(dir);
    }
  });
  std::optional<data::CacheIndex> loaded = data::CacheIndex::load(dir);
  if (!loaded) fail("{}: no index.json after rank 0 wrote one: the ranks must share the cache directory", dir);
  data::CacheIndex index = std::move(*loaded);
  const std::vector<data::PlannedShard> remaining = unindexed(plan, index);

  const auto start = std::chrono::steady_clock::now();
  const at::Device device = parse_device(options.device, groups.local_rank());
  std::optional<model::TargetModel> target;  // not needed when nothing is left
  if (!remaining.empty()) {
    target = model::TargetModel::load(options.target_model_path, device, compute_dtype(device), groups.target_tp(),
                                      options.target_weight_check);
  }
  const data::ShardFormat format = settings.shard_format();
  const auto groups_count = static_cast<std::size_t>(groups.target_dp().size());
  const auto mine = static_cast<std::size_t>(groups.target_dp().rank());
  std::optional<util::Progress> progress;
  if (options.show_progress && groups.rank() == 0) {
    std::uint64_t tokens = 0;
    for (const data::PlannedShard& shard : remaining) tokens += static_cast<std::uint64_t>(shard.num_tokens);
    progress.emplace("cache", tokens, "tokens");
  }
  CacheReport report;
  std::int64_t written = 0, done_samples = 0;
  for (std::size_t round = 0; round < remaining.size(); round += groups_count) {
    if (round + mine < remaining.size()) {
      const data::PlannedShard& shard = remaining[round + mine];
      std::vector<data::HiddenStateSample> samples =
          compute_shard(*target, *dataset, shard, settings.aux_layers, options.batch_size, options.dtype);
      if (groups.target_tp().rank() == 0) {
        data::write_shard(dir, shard.file, samples, format);
        maybe_kill(++written);
      }
    }
    groups.world().barrier();
    for (std::size_t k = round; k < std::min(remaining.size(), round + groups_count); ++k) {
      report.written_tokens += remaining[k].num_tokens;
      if (groups.rank() != 0) continue;
      index.shards.push_back(data::HiddenStateShard::describe(dir, remaining[k].file, format));
      done_samples += remaining[k].num_samples;
      if (progress) {
        const double seconds = std::max(progress->elapsed_seconds(), 1e-9);
        progress->set_suffix(fmt::format("{} samples {:.1f}/s", done_samples, done_samples / seconds));
        progress->advance(static_cast<std::uint64_t>(remaining[k].num_tokens));
      }
    }
    if (groups.rank() == 0) index.save(dir);
  }
  if (progress) progress->finish();
  if (groups.rank() == 0) {
    index.complete = true;
    index.save(dir);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.samples = index.num_samples;
  report.tokens = index.num_tokens;
  report.shards = static_cast<std::int64_t>(plan.size());
  for (const data::ShardRecord& record : index.shards) report.bytes += record.bytes;
  return report;
}

}  // namespace talon::train
