// The offline cache format (data/hidden_state_cache.h): shards read back
// exactly what was written, each sample's checksum equals XXH64 of its bytes
// computed here, the plan follows the greedy rule worked out by hand, and a
// reader catches every corruption: a truncated shard, a flipped data byte,
// an edited header, a shard of another cache, an unfinished index.
#include "talon/data/hidden_state_cache.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <xxhash.h>

#include <filesystem>
#include <fstream>

#include "talon/data/sample_builder.h"
#include "test_support.h"

namespace talon::data {
namespace {

using testing::expect_error;
using testing::TempDir;

constexpr std::int64_t kHidden = 4;

class CacheFormat : public ::testing::Test {
 protected:
  // Samples of lengths {3, 5, 2, 7, 1}; shards of at most 8 tokens' bytes.
  void make(at::ScalarType dtype, std::uint64_t tokens_per_shard = 8) {
    PreparedDatasetWriter writer(dir + "/prepared");
    at::manual_seed(7);
    for (std::int64_t n : {3, 5, 2, 7, 1}) {
      TokenizedSample s;
      for (std::int64_t t = 0; t < n; ++t) {
        s.input_ids.push_back(static_cast<std::int32_t>(100 + 10 * samples.size() + t));
        s.loss_mask.push_back(t % 2);
      }
      writer.append(s);
      samples.push_back({static_cast<std::int64_t>(samples.size()), at::tensor(s.input_ids),
                         at::tensor(std::vector<std::int32_t>(s.loss_mask.begin(), s.loss_mask.end())).to(at::kByte),
                         at::randn({n, 3 * kHidden}).to(dtype), at::randn({n, kHidden}).to(dtype)});
    }
    DatasetProvenance provenance;
    provenance.tokenizer_fingerprint = provenance.chat_template_fingerprint = "0";
    provenance.chat_template = "test";
    provenance.vocab_size = 1000;
    provenance.max_length = 8;
    writer.finish(provenance, nlohmann::json::object());
    dataset = PreparedDataset::open(dir + "/prepared");

    settings.dataset = dataset.header().at("files");
    settings.target_fingerprint = "feedface";
    settings.aux_layers = {1, 2, 3};
    settings.hidden_size = kHidden;
    settings.dtype = dtype;
    settings.shard_size = tokens_per_shard * settings.bytes_per_token();
    plan = plan_shards(dataset, settings);

    index = CacheIndex{};
    index.settings = settings;
    index.num_samples = 5;
    index.num_tokens = 18;
    index.complete = true;
    for (const PlannedShard& shard : plan) {
      std::vector<HiddenStateSample> part(samples.begin() + shard.first_sample,
                                          samples.begin() + shard.first_sample + shard.num_samples);
      write_shard(dir, shard.file, part, settings.shard_format());
      index.shards.push_back(HiddenStateShard::describe(dir, shard.file, settings.shard_format()));
    }
    index.save(dir);
  }

  std::string shard_path(int i) const { return dir + "/" + plan.at(static_cast<std::size_t>(i)).file; }

  TempDir tmp;
  std::string dir = tmp.file("cache");
  std::vector<HiddenStateSample> samples;
  PreparedDataset dataset;
  CacheSettings settings;
  std::vector<PlannedShard> plan;
  CacheIndex index;
};

// XXH64 of the sample's bytes laid end to end: ids, mask, aux, hidden.
std::uint64_t expected_checksum(const HiddenStateSample& s) {
  std::string bytes;
  for (const at::Tensor& t : {s.input_ids.to(at::kInt), s.loss_mask, s.aux, s.hidden}) {
    bytes.append(static_cast<const char*>(t.contiguous().data_ptr()), t.nbytes());
  }
  return XXH64(bytes.data(), bytes.size(), 0);
}

void flip_byte(const std::string& path, std::uint64_t offset) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  file.read(&c, 1);
  c = static_cast<char>(c ^ 0x20);
  file.seekp(static_cast<std::streamoff>(offset));
  file.write(&c, 1);
}

TEST_F(CacheFormat, PlanPacksConsecutiveSamplesGreedily) {
  make(at::kFloat);
  // 3 + 5 = 8 fits; 2, then 2 + 7 > 8; 7 + 1 = 8 fits.
  ASSERT_EQ(plan.size(), 3u);
  const std::vector<std::array<std::int64_t, 3>> expected = {{0, 2, 8}, {2, 1, 2}, {3, 2, 8}};
  for (std::size_t i = 0; i < plan.size(); ++i) {
    EXPECT_EQ(plan[i].file, fmt::format("shard-{:05d}.safetensors", i));
    const std::array<std::int64_t, 3> got = {plan[i].first_sample, plan[i].num_samples, plan[i].num_tokens};
    EXPECT_EQ(got, expected[i]);
    EXPECT_GE(plan[i].bytes, std::filesystem::file_size(shard_path(static_cast<int>(i))));  // an estimate from above
  }
  // A sample longer than a shard gets one of its own.
  settings.shard_size = 4 * settings.bytes_per_token();
  std::vector<std::int64_t> sizes;
  for (const PlannedShard& shard : plan_shards(dataset, settings)) sizes.push_back(shard.num_samples);
  EXPECT_EQ(sizes, (std::vector<std::int64_t>{1, 1, 1, 1, 1}));
  EXPECT_EQ(settings.bytes_per_token(), 4u + 1u + 4u * kHidden * 4u);
}

TEST_F(CacheFormat, ShardsReadBackWhatWasWritten) {
  for (at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    samples.clear();
    dir = tmp.file(dtype == at::kFloat ? "fp32" : "bf16");
    make(dtype);
    const HiddenStateCache cache = HiddenStateCache::open(dir);
    ASSERT_EQ(cache.size(), 5u);
    for (const HiddenStateSample& s : samples) {
      const CachedSample read = cache.sample(static_cast<std::size_t>(s.index));
      EXPECT_TRUE(read.input_ids.equal(s.input_ids.to(at::kInt))) << s.index;
      EXPECT_TRUE(read.loss_mask.equal(s.loss_mask)) << s.index;
      EXPECT_EQ(read.aux.scalar_type(), dtype);
      EXPECT_TRUE(read.aux.equal(s.aux)) << s.index;
      EXPECT_TRUE(read.hidden.equal(s.hidden)) << s.index;
    }
    cache.verify();
    // The metadata's checksums are XXH64 of each sample's bytes.
    const io::SafetensorsFile first = io::SafetensorsFile::open(shard_path(0));
    EXPECT_EQ(first.metadata().at("xxh64"), fmt::format("{:016x},{:016x}", expected_checksum(samples[0]),
                                                         expected_checksum(samples[1])));
    EXPECT_EQ(first.metadata().at("cache"), settings.id());
  }
}

TEST_F(CacheFormat, TruncatedShardIsRefusedNamingIt) {
  make(at::kBFloat16);
  std::filesystem::resize_file(shard_path(1), std::filesystem::file_size(shard_path(1)) - 10);
  expect_error([&] { HiddenStateCache::open(dir); }, {shard_path(1), "truncated"});
}

TEST_F(CacheFormat, FlippedDataByteFailsWhenReadAndUnderVerify) {
  make(at::kBFloat16);
  flip_byte(shard_path(2), std::filesystem::file_size(shard_path(2)) - 1);
  const HiddenStateCache cache = HiddenStateCache::open(dir);  // the fast check reads headers only
  cache.sample(0);
  std::vector<std::string> checked;
  expect_error([&] { cache.verify([&](const ShardRecord& r) { checked.push_back(r.file); }); },
               {shard_path(2), "checksum", "corrupted"});
  EXPECT_EQ(checked, (std::vector<std::string>{plan[0].file, plan[1].file}));
  bool one_failed = false;
  for (std::size_t k : {3u, 4u}) {
    try {
      cache.sample(k);
    } catch (const Error& e) {
      one_failed = true;
      EXPECT_NE(std::string(e.what()).find(fmt::format("sample {}", k)), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(one_failed);
}

TEST_F(CacheFormat, EditedHeaderIsRefused) {
  make(at::kFloat);
  flip_byte(shard_path(0), 20);  // inside the JSON header
  expect_error([&] { HiddenStateCache::open(dir); }, {shard_path(0), "header does not match"});
}

TEST_F(CacheFormat, ShardOfAnotherCacheIsRefused) {
  make(at::kFloat);
  // Another cache's shard 1 put in place, its index entry fixed up to match.
  ShardFormat other = settings.shard_format();
  other.cache_id = "0123456789abcdef";
  write_shard(dir, plan[1].file, {samples[2]}, other);
  CacheIndex fixed = index;
  fixed.shards[1] = HiddenStateShard::describe(dir, plan[1].file, other);
  fixed.save(dir);
  expect_error([&] { HiddenStateCache::open(dir); }, {shard_path(1), "belongs to another cache"});
}

TEST_F(CacheFormat, UnfinishedOrGappedIndexIsRefused) {
  make(at::kFloat);
  CacheIndex unfinished = index;
  unfinished.complete = false;
  unfinished.shards.pop_back();
  unfinished.save(dir);
  expect_error([&] { HiddenStateCache::open(dir); }, {dir + "/index.json", "incomplete", "3 of 5 samples"});
  CacheIndex gapped = index;
  gapped.shards.erase(gapped.shards.begin() + 1);
  gapped.save(dir);
  expect_error([&] { HiddenStateCache::open(dir); }, {dir + "/index.json", plan[2].file, "expected 2"});
  EXPECT_FALSE(CacheIndex::load(tmp.file("nothing")).has_value());
}

}  // namespace
}  // namespace talon::data
