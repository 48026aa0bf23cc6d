#include "talon/data/hidden_state_cache.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "talon/util/atomic_file.h"
#include "talon/util/error.h"
#include "talon/util/json_file.h"

namespace talon::data {
namespace {

constexpr const char* kFormat = "talon-hidden-state-cache";
constexpr int kVersion = 1;
// A shard's header: four tensor entries and a checksum per sample, and the
// rest of __metadata__, generously.
constexpr std::uint64_t kHeaderBytesPerSample = 512;
constexpr std::uint64_t kHeaderBytesPerShard = 1024;

std::string dtype_label(at::ScalarType dtype) {
  if (dtype == at::kBFloat16) return "bf16";
  if (dtype == at::kFloat) return "fp32";
  fail("hidden-state caches hold bf16 or fp32, not {}", c10::toString(dtype));
}

at::ScalarType parse_dtype_label(const std::string& label) {
  if (label == "bf16") return at::kBFloat16;
  if (label == "fp32") return at::kFloat;
  fail("settings.dtype is \"{}\", expected bf16 or fp32", label);
}

nlohmann::json record_json(const ShardRecord& r) {
  return {{"file", r.file},           {"first_sample", r.first_sample}, {"num_samples", r.num_samples},
          {"num_tokens", r.num_tokens}, {"bytes", r.bytes},             {"header_xxh64", r.header_xxh64}};
}

ShardRecord record_from_json(const nlohmann::json& j) {
  ShardRecord r;
  r.file = j.at("file").get<std::string>();
  r.first_sample = j.at("first_sample").get<std::int64_t>();
  r.num_samples = j.at("num_samples").get<std::int64_t>();
  r.num_tokens = j.at("num_tokens").get<std::int64_t>();
  r.bytes = j.at("bytes").get<std::uint64_t>();
  r.header_xxh64 = j.at("header_xxh64").get<std::string>();
  if (r.file.empty() || r.file.find('/') != std::string::npos) {
    fail("shard file name \"{}\" is not a plain name", r.file);
  }
  return r;
}

}  // namespace

nlohmann::json CacheSettings::to_json() const {
  return {{"dataset", dataset},         {"target_fingerprint", target_fingerprint},
          {"aux_layers", aux_layers},   {"hidden_size", hidden_size},
          {"dtype", dtype_label(dtype)}, {"shard_size", shard_size}};
}

CacheSettings CacheSettings::from_json(const nlohmann::json& j) {
  CacheSettings s;
  s.dataset = j.at("dataset");
  s.target_fingerprint = j.at("target_fingerprint").get<std::string>();
  s.aux_layers = j.at("aux_layers").get<std::vector<int>>();
  s.hidden_size = j.at("hidden_size").get<std::int64_t>();
  s.dtype = parse_dtype_label(j.at("dtype").get<std::string>());
  s.shard_size = j.at("shard_size").get<std::uint64_t>();
  if (s.hidden_size <= 0 || s.shard_size == 0) fail("settings.hidden_size and shard_size must be positive");
  if (s.aux_layers.empty()) fail("settings.aux_layers is empty");
  return s;
}

std::string CacheSettings::id() const {
  const std::string text = to_json().dump();
  return fmt::format("{:016x}", XXH64(text.data(), text.size(), 0));
}

std::uint64_t CacheSettings::bytes_per_token() const {
  return sizeof(std::int32_t) + sizeof(std::uint8_t) +
         (aux_layers.size() + 1) * static_cast<std::uint64_t>(hidden_size) * c10::elementSize(dtype);
}

std::vector<PlannedShard> plan_shards(const PreparedDataset& data, const CacheSettings& settings) {
  std::vector<PlannedShard> plan;
  PlannedShard current;
  std::uint64_t data_bytes = 0;
  auto close = [&] {
    current.file = fmt::format("shard-{:05d}.safetensors", plan.size());
    current.bytes = data_bytes + kHeaderBytesPerShard + kHeaderBytesPerSample * static_cast<std::uint64_t>(current.num_samples);
    plan.push_back(current);
    current = PlannedShard{};
    current.first_sample = plan.back().first_sample + plan.back().num_samples;
    data_bytes = 0;
  };
  for (std::size_t i = 0; i < data.size(); ++i) {
    const std::uint64_t bytes = data.sample(i).length * settings.bytes_per_token();
    if (current.num_samples > 0 && data_bytes + bytes > settings.shard_size) close();
    ++current.num_samples;
    current.num_tokens += static_cast<std::int64_t>(data.sample(i).length);
    data_bytes += bytes;
  }
  if (current.num_samples > 0) close();
  return plan;
}

std::optional<CacheIndex> CacheIndex::load(const std::string& dir) {
  const std::string file = path(dir);
  if (!std::filesystem::exists(file)) return std::nullopt;
  const nlohmann::json j = util::load_json_file(file);
  CacheIndex index;
  try {
    if (j.value("format", "") != kFormat) fail("not a Talon hidden-state cache index (format field)");
    if (j.at("version").get<int>() != kVersion) {
      fail("version {} is not the supported version {}", j.at("version").dump(), kVersion);
    }
    index.settings = CacheSettings::from_json(j.at("settings"));
    if (j.at("id").get<std::string>() != index.settings.id()) fail("\"id\" does not match \"settings\"");
    index.target_model_path = j.at("target_model_path").get<std::string>();
    index.num_samples = j.at("num_samples").get<std::int64_t>();
    index.num_tokens = j.at("num_tokens").get<std::int64_t>();
    index.complete = j.at("complete").get<bool>();
    for (const nlohmann::json& shard : j.at("shards")) index.shards.push_back(record_from_json(shard));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed: {}", file, e.what());
  } catch (const Error& e) {
    fail("{}: {}", file, e.what());
  }
  return index;
}

void CacheIndex::save(const std::string& dir) const {
  std::vector<ShardRecord> sorted = shards;
  std::sort(sorted.begin(), sorted.end(),
            [](const ShardRecord& a, const ShardRecord& b) { return a.first_sample < b.first_sample; });
  nlohmann::json records = nlohmann::json::array();
  std::int64_t cached_samples = 0, cached_tokens = 0;
  std::uint64_t bytes = 0;
  for (const ShardRecord& r : sorted) {
    records.push_back(record_json(r));
    cached_samples += r.num_samples;
    cached_tokens += r.num_tokens;
    bytes += r.bytes;
  }
  const nlohmann::json j = {
      {"format", kFormat},
      {"version", kVersion},
      {"id", settings.id()},
      {"settings", settings.to_json()},
      {"target_model_path", target_model_path},
      {"num_samples", num_samples},
      {"num_tokens", num_tokens},
      {"complete", complete},
      {"cached_samples", cached_samples},
      {"cached_tokens", cached_tokens},
      {"bytes", bytes},
      {"bytes_per_token", cached_tokens > 0 ? static_cast<double>(bytes) / static_cast<double>(cached_tokens) : 0.0},
      {"shards", records},
  };
  util::write_file_atomic(path(dir), j.dump(2) + "\n");
}

HiddenStateCache HiddenStateCache::open(const std::string& dir) {
  std::optional<CacheIndex> index = CacheIndex::load(dir);
  if (!index) fail("{}: not a hidden-state cache (no index.json; `talon cache` writes one)", dir);
  const std::string index_path = CacheIndex::path(dir);
  if (!index->complete) {
    std::int64_t cached = 0;
    for (const ShardRecord& r : index->shards) cached += r.num_samples;
    fail("{}: the cache is incomplete ({} of {} samples cached): run `talon cache` again with the same settings to "
         "finish it",
         index_path, cached, index->num_samples);
  }
  PreparedDataset dataset = PreparedDataset::open(dir + "/prepared");
  if (dataset.header().at("files") != index->settings.dataset ||
      static_cast<std::int64_t>(dataset.size()) != index->num_samples) {
    fail("{}/prepared: not the prepared dataset {} was made from", dir, index_path);
  }
  HiddenStateCache cache(dir, std::move(*index), std::move(dataset));
  const ShardFormat format = cache.settings().shard_format();
  std::int64_t next = 0, tokens = 0;
  for (const ShardRecord& record : cache.index_.shards) {
    if (record.first_sample != next || record.num_samples <= 0) {
      fail("{}: shard {} starts at sample {}, expected {}: the shards must cover every sample once, in order",
           index_path, record.file, record.first_sample, next);
    }
    cache.shards_.push_back(HiddenStateShard::open(dir, record, format));
    next += record.num_samples;
    tokens += record.num_tokens;
  }
  if (next != cache.index_.num_samples || tokens != cache.index_.num_tokens) {
    fail("{}: the shards hold {} samples and {} tokens, the index says {} and {}", index_path, next, tokens,
         cache.index_.num_samples, cache.index_.num_tokens);
  }
  return cache;
}

CachedSample HiddenStateCache::sample(std::size_t index) const {
  if (index >= size()) fail("{}: sample {} out of range (the cache has {})", dir_, index, size());
  const auto i = static_cast<std::int64_t>(index);
  auto it = std::upper_bound(shards_.begin(), shards_.end(), i, [](std::int64_t value, const HiddenStateShard& s) {
    return value < s.record().first_sample;
  });
  return std::prev(it)->sample(i);
}

void HiddenStateCache::verify(const std::function<void(const ShardRecord&)>& done) const {
  for (const HiddenStateShard& shard : shards_) {
    const ShardRecord& r = shard.record();
    for (std::int64_t k = r.first_sample; k < r.first_sample + r.num_samples; ++k) {
      const CachedSample cached = shard.sample(k);
      const SampleView expected = dataset_.sample(static_cast<std::size_t>(k));
      const auto n = static_cast<std::size_t>(cached.input_ids.size(0));
      if (n != expected.length ||
          std::memcmp(cached.input_ids.data_ptr(), expected.input_ids, n * sizeof(std::int32_t)) != 0 ||
          std::memcmp(cached.loss_mask.data_ptr(), expected.loss_mask, n) != 0) {
        fail("{}/{}: sample {} holds other tokens than the prepared dataset's", dir_, r.file, k);
      }
    }
    if (done) done(r);
  }
}

}  // namespace talon::data
