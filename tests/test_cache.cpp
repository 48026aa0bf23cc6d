// `talon cache` and offline training end to end on the tiny example:
// training from an fp32 cache gives the per-step losses (and eval losses)
// of training with the target in the loop; a run killed between writing a shard and
// indexing it is finished by the next one, byte for byte as if never
// stopped; two ranks write the same cache as one; and every bad input is
// refused with a message naming the file: too little disk, a truncated or
// tampered shard, another tokenizer, template or target, other settings
// or data for an existing cache.
#include <ATen/ATen.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "talon/io/safetensors.h"
#include "talon/util/dir_lock.h"
#include "train_fixture.h"

namespace talon {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::expect_same_training;
using testing::Fixture;
using testing::run_talon;

// 12 samples in micro-batches of 2, so batches are padded: offline padding
// (zeros) differs from online (the target's states for token 0) but never
// reaches the loss.
struct CacheFixture : Fixture {
  CacheFixture() { micro_batch = 2; }

  std::string cache_args(const std::string& out, const std::string& extra = "") const {
    return fmt::format("cache --target-model-path {} --draft-model-config {} --data-path {} --chat-template llama3 "
                       "--max-length 192 --output-dir {} --quiet {}",
                       target, draft_config, data, out, extra);
  }
  // fp32, about one sample per shard, three samples per target forward.
  std::string make_cache(const std::string& name, const std::string& extra = "") {
    const std::string out = tmp.file(name);
    auto run = run_talon(cache_args(out, "--dtype fp32 --shard-size 100K --batch-size 3 " + extra));
    EXPECT_EQ(run.status, 0) << run.out;
    return out;
  }
};

std::vector<std::string> shard_files(const std::string& dir) {
  std::vector<std::string> names;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("shard-", 0) == 0) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Every shard file and index.json byte for byte.
void expect_same_cache(const std::string& got, const std::string& want) {
  ASSERT_EQ(shard_files(got), shard_files(want));
  for (const std::string& name : shard_files(want)) {
    EXPECT_TRUE(util::read_file(got + "/" + name) == util::read_file(want + "/" + name)) << name;
  }
  EXPECT_EQ(util::read_file(got + "/index.json"), util::read_file(want + "/index.json"));
}

TEST(Cache, OfflineTrainingGivesTheLossesOfOnlineTraining) {
  CacheFixture f;
  const std::string cache = f.tmp.file("cache");
  auto made = run_talon(f.cache_args(cache, "--dtype fp32 --shard-size 100K --batch-size 3"));
  ASSERT_EQ(made.status, 0) << made.out;
  EXPECT_NE(made.out.find("1029 bytes/token"), std::string::npos) << made.out;  // 4 + 1 + 4 * 64 * 4
  EXPECT_NE(made.out.find("free in " + cache), std::string::npos) << made.out;

  // bytes/token on disk: the shard files' sizes over the tokens, as reported.
  const json index = json::parse(util::read_file(cache + "/index.json"));
  std::uint64_t bytes = 0;
  for (const std::string& name : shard_files(cache)) bytes += fs::file_size(cache + "/" + name);
  EXPECT_EQ(index["bytes"].get<std::uint64_t>(), bytes);
  const double per_token = index["bytes_per_token"].get<double>();
  EXPECT_DOUBLE_EQ(per_token, static_cast<double>(bytes) / index["num_tokens"].get<double>());
  EXPECT_NE(made.out.find(fmt::format("({:.1f} bytes/token)", per_token)), std::string::npos) << made.out;
  EXPECT_EQ(index["num_samples"], 12);
  EXPECT_TRUE(index["complete"].get<bool>());

  // Held-out data, evaluated every 3 steps in both modes.
  const std::string eval_data = f.tmp.write("eval.jsonl", testing::first_conversations(5));
  const std::string eval_cache = f.tmp.file("eval-cache");
  std::string eval_args = f.cache_args(eval_cache, "--dtype fp32");
  made = run_talon(eval_args.replace(eval_args.find(f.data), f.data.size(), eval_data));
  ASSERT_EQ(made.status, 0) << made.out;

  const std::string online = f.tmp.file("online"), offline = f.tmp.file("offline");
  auto a = run_talon(f.args(online, "--eval-interval 3 --eval-data-path " + eval_data));
  ASSERT_EQ(a.status, 0) << a.out;
  auto b = run_talon(f.train_args("--train-hidden-states-path " + cache, offline,
                                  "--eval-interval 3 --eval-hidden-states-path " + eval_cache));
  ASSERT_EQ(b.status, 0) << b.out;
  EXPECT_FALSE(fs::exists(offline + "/prepared")) << "an offline run prepares no data of its own";
  expect_same_training(offline, online);
  std::vector<json> evals[2];
  for (int mode = 0; mode < 2; ++mode) {
    for (const json& r : testing::read_jsonl((mode == 0 ? online : offline) + "/metrics.jsonl")) {
      if (r.contains("split")) evals[mode].push_back(r);
    }
  }
  ASSERT_EQ(evals[0].size(), 4u);  // steps 3, 6, 9, 12
  ASSERT_EQ(evals[1].size(), evals[0].size());
  for (std::size_t k = 0; k < evals[0].size(); ++k) {
    EXPECT_EQ(evals[1][k]["step"], evals[0][k]["step"]);
    EXPECT_LE(testing::relative(evals[1][k]["loss"], evals[0][k]["loss"]), 1e-5) << "eval, step " << evals[0][k]["step"];
  }

  auto verified = run_talon("cache --quiet --verify " + cache);
  EXPECT_EQ(verified.status, 0) << verified.out;
  EXPECT_NE(verified.out.find("every checksum matches"), std::string::npos) << verified.out;
}

TEST(Cache, Bf16IsTheDefaultAndHalvesTheHiddenStates) {
  CacheFixture f;
  const std::string cache = f.tmp.file("cache");
  auto made = run_talon(f.cache_args(cache));
  ASSERT_EQ(made.status, 0) << made.out;
  EXPECT_NE(made.out.find("517 bytes/token"), std::string::npos) << made.out;  // 4 + 1 + 4 * 64 * 2
  EXPECT_EQ(shard_files(cache), std::vector<std::string>{"shard-00000.safetensors"});  // 1G shards
  const io::SafetensorsFile shard = io::SafetensorsFile::open(cache + "/shard-00000.safetensors");
  EXPECT_EQ(shard.find("0.aux_hidden_states")->dtype, io::DType::BF16);
  EXPECT_EQ(shard.find("11.hidden_states")->shape[1], 64);
  auto trained = run_talon(f.train_args("--train-hidden-states-path " + cache, f.tmp.file("out")));
  EXPECT_EQ(trained.status, 0) << trained.out;
}

TEST(Cache, AKilledRunIsFinishedByTheNextAsIfNeverStopped) {
  CacheFixture f;
  const std::string whole = f.make_cache("whole");
  const std::size_t shards = shard_files(whole).size();
  ASSERT_GE(shards, 8u);

  // Killed right after its 4th shard is in place, before it is indexed.
  const std::string cache = f.tmp.file("cache");
  ::setenv("TALON_CACHE_KILL_AFTER_SHARDS", "4", 1);
  auto killed = run_talon(f.cache_args(cache, "--dtype fp32 --shard-size 100K --batch-size 3"));
  ::unsetenv("TALON_CACHE_KILL_AFTER_SHARDS");
  ASSERT_NE(killed.status, 0) << killed.out;
  const json partial = json::parse(util::read_file(cache + "/index.json"));
  EXPECT_FALSE(partial["complete"].get<bool>());
  EXPECT_EQ(partial["shards"].size(), 3u);
  EXPECT_TRUE(fs::exists(cache + "/shard-00003.safetensors"));  // written, never listed

  auto refused = run_talon(f.train_args("--train-hidden-states-path " + cache, f.tmp.file("early")));
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.out.find(cache + "/index.json: the cache is incomplete"), std::string::npos) << refused.out;

  // What else a crash may leave: a writer's temp file, a partial shard.
  std::ofstream(cache + "/shard-00005.safetensors.tmp.4242") << "partial";
  std::ofstream(cache + "/shard-00006.safetensors") << "partial";
  auto resumed = run_talon(f.cache_args(cache, "--dtype fp32 --shard-size 100K --batch-size 3"));
  ASSERT_EQ(resumed.status, 0) << resumed.out;
  EXPECT_NE(resumed.out.find(fmt::format("to write in {} shards", shards - 3)), std::string::npos) << resumed.out;
  EXPECT_FALSE(fs::exists(cache + "/shard-00005.safetensors.tmp.4242"));
  expect_same_cache(cache, whole);

  auto again = run_talon(f.cache_args(cache, "--dtype fp32 --shard-size 100K --batch-size 3"));
  ASSERT_EQ(again.status, 0) << again.out;
  EXPECT_NE(again.out.find("to write in 0 shards"), std::string::npos) << again.out;
  expect_same_cache(cache, whole);
}

// Byte for byte whatever the thread counts: one process on 3 torch threads
// against two ranks on 1 each.
TEST(Cache, RanksShareTheShardsAndMergeOneIndex) {
  CacheFixture f;
  ::setenv("OMP_NUM_THREADS", "3", 1);
  const std::string whole = f.make_cache("whole");
  ::setenv("OMP_NUM_THREADS", "1", 1);
  const std::string two = f.tmp.file("two");
  auto run = run_talon("launch --nproc-per-node 2 -- " +
                       f.cache_args(two, "--dtype fp32 --shard-size 100K --batch-size 3"));
  ASSERT_EQ(run.status, 0) << run.out;
  expect_same_cache(two, whole);

  // Target TP: the same states, up to the order of the partial sums.
  const std::string split = f.tmp.file("split");
  run = run_talon("launch --nproc-per-node 2 -- " +
                  f.cache_args(split, "--dtype fp32 --shard-size 100K --batch-size 3 --tp-size 2"));
  ASSERT_EQ(run.status, 0) << run.out;
  ASSERT_EQ(shard_files(split), shard_files(whole));
  for (const std::string& name : shard_files(whole)) {
    const io::SafetensorsFile a = io::SafetensorsFile::open(split + "/" + name);
    const io::SafetensorsFile b = io::SafetensorsFile::open(whole + "/" + name);
    for (const io::TensorInfo& info : b.tensors()) {
      EXPECT_TRUE(at::allclose(a.tensor(info.name), b.tensor(info.name), 1e-4, 1e-5)) << name << " " << info.name;
    }
  }
}

// Offline training over two ranks, draft DP 2 and draft TP 2 (the lm_head's
// vocabulary split for the argmax), against one process.
TEST(Cache, OfflineRanksMatchOneProcess) {
  CacheFixture f;
  f.global_batch = 4;
  const std::string cache = f.make_cache("cache");
  const std::string source = "--train-hidden-states-path " + cache;
  const std::string one = f.tmp.file("one");
  auto run = run_talon(f.train_args(source, one));
  ASSERT_EQ(run.status, 0) << run.out;
  for (const char* layout : {"--draft-tp-size 1", "--draft-tp-size 2"}) {
    SCOPED_TRACE(layout);
    const std::string two = f.tmp.file(fmt::format("two-{}", layout[std::strlen(layout) - 1]));
    run = run_talon("launch --nproc-per-node 2 -- " + f.train_args(source, two, layout));
    ASSERT_EQ(run.status, 0) << run.out;
    expect_same_training(two, one);
  }
  run = run_talon("launch --nproc-per-node 2 -- " + f.train_args(source, f.tmp.file("tp"), "--tp-size 2"));
  EXPECT_NE(run.out.find("--tp-size 2: an offline run (--train-hidden-states-path) loads no target layers"),
            std::string::npos)
      << run.out;
}

TEST(Cache, RefusesACacheTheDiskCannotHold) {
  CacheFixture f;
  // A target whose hidden states would take 16 MiB a token in fp32 (the
  // largest hidden_size config.json allows), over the bundled conversations
  // 20 times: refused before its (mismatched) weights are loaded.
  const std::string huge = f.tmp.file("huge");
  fs::copy(f.target, huge);
  json config = json::parse(util::read_file(huge + "/config.json"));
  config["hidden_size"] = std::int64_t{1} << 20;
  config["head_dim"] = 16;
  std::ofstream(huge + "/config.json") << config.dump();
  const std::string cache = f.tmp.file("cache");
  std::string data;
  for (int i = 0; i < 20; ++i) data += TALON_SOURCE_DIR "/examples/conversations.jsonl ";
  auto run = run_talon(fmt::format("cache --target-model-path {} --draft-model-config {} --data-path {} "
                                   "--max-length 4096 --dtype fp32 --output-dir {} --quiet",
                                   huge, f.draft_config, data, cache));
  EXPECT_NE(run.status, 0);
  // 20 x 41952 tokens at 4 + 1 + 4 * 2^20 * 4 bytes: 12.80 TiB.
  EXPECT_NE(run.out.find(cache + ": the cache needs 12.80 TiB (14076768723840 bytes)"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("free"), std::string::npos) << run.out;
  EXPECT_TRUE(shard_files(cache).empty());
  EXPECT_FALSE(fs::exists(cache + "/index.json"));
}

TEST(Cache, DamagedShardsAreNamed) {
  CacheFixture f;
  const std::string cache = f.make_cache("cache");
  const std::string out = f.tmp.file("out");

  // A flipped byte in sample 4's hidden states: training stops when it reads it.
  const std::string shard = cache + "/shard-00004.safetensors";
  {
    std::fstream file(shard, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(-3, std::ios::end);
    file.put('\x7f');
  }
  auto trained = run_talon(f.train_args("--train-hidden-states-path " + cache, out));
  EXPECT_NE(trained.status, 0);
  EXPECT_NE(trained.out.find(shard + ": sample 4 does not match its checksum"), std::string::npos) << trained.out;
  auto verified = run_talon("cache --quiet --verify " + cache);
  EXPECT_NE(verified.status, 0);
  EXPECT_NE(verified.out.find(shard + ": sample 4 does not match its checksum"), std::string::npos) << verified.out;

  // Truncated: refused when the cache is opened, before any step.
  fs::resize_file(cache + "/shard-00007.safetensors", 1000);
  trained = run_talon(f.train_args("--train-hidden-states-path " + cache, f.tmp.file("out2")));
  EXPECT_NE(trained.status, 0);
  EXPECT_NE(trained.out.find(cache + "/shard-00007.safetensors: 1000 bytes but the index records"), std::string::npos)
      << trained.out;
}

TEST(Cache, ACacheOfAnotherTokenizerTemplateOrTargetIsRefused) {
  CacheFixture f;
  const std::string cache = f.make_cache("cache");
  const std::string where = cache + "/index.json: the hidden-state cache was made with different settings";

  auto offline = [&](const std::string& out, const std::string& from, const std::string& to) {
    std::string args = f.train_args("--train-hidden-states-path " + cache, f.tmp.file(out));
    return run_talon(args.replace(args.find(from), from.size(), to));
  };
  auto run = offline("a", "--chat-template llama3", "--chat-template " + f.other_template());
  EXPECT_NE(run.status, 0);
  EXPECT_NE(run.out.find(where), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("chat template is llama3 but this run uses " + f.other_template()), std::string::npos)
      << run.out;

  run = offline("b", "--max-length 192", "--max-length 100");
  EXPECT_NE(run.out.find("max_length is 192 but this run uses 100"), std::string::npos) << run.out;

  // The same architecture and tokenizer with other weights.
  const std::string other = f.tmp.file("other-target");
  auto init = run_talon(fmt::format("init-target --config {}/examples/tiny-target-config.json --tokenizer {} "
                                    "--output-dir {} --seed 4",
                                    TALON_SOURCE_DIR, testing::kLlamaTokenizerDir, other));
  ASSERT_EQ(init.status, 0) << init.out;
  run = offline("c", f.target, other);
  EXPECT_NE(run.status, 0);
  EXPECT_NE(run.out.find(where), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("made from another target (" + f.target + ") than " + other), std::string::npos) << run.out;

  // A tokenizer of its own (another vocabulary file) is another tokenizer.
  const std::string retokenized = f.tmp.file("retokenized");
  fs::copy(f.target, retokenized);
  std::ofstream(retokenized + "/tokenizer_config.json", std::ios::app) << " ";
  run = offline("d", f.target, retokenized);
  EXPECT_NE(run.out.find("tokenizer is"), std::string::npos) << run.out;
}

TEST(Cache, AnExistingCacheKeepsItsSettingsAndData) {
  CacheFixture f;
  const std::string cache = f.make_cache("cache");
  const std::string before = util::read_file(cache + "/index.json");
  auto run = run_talon(f.cache_args(cache, "--dtype bf16 --shard-size 100K --batch-size 3"));
  EXPECT_NE(run.status, 0);
  EXPECT_NE(run.out.find(cache + "/index.json: the cache was made with other settings; dtype is \"fp32\" but this "
                                 "run's is \"bf16\""),
            std::string::npos)
      << run.out;
  f.data = f.tmp.write("fewer.jsonl", testing::first_conversations(5));
  run = run_talon(f.cache_args(cache, "--dtype fp32 --shard-size 100K --batch-size 3"));
  EXPECT_NE(run.status, 0);
  EXPECT_NE(run.out.find(cache + " holds a cache of other data; its prepared/ holds other samples"), std::string::npos)
      << run.out;
  EXPECT_EQ(util::read_file(cache + "/index.json"), before);
  auto verified = run_talon("cache --quiet --verify " + cache);
  EXPECT_EQ(verified.status, 0) << verified.out;

  // Flags of the other mode are refused by name.
  run = run_talon(f.train_args("--train-hidden-states-path " + cache + " --train-data-path " + f.data,
                               f.tmp.file("both")));
  EXPECT_NE(run.out.find("--train-data-path and --train-hidden-states-path: give one"), std::string::npos) << run.out;
}

// The cache directory is locked for the run's lifetime: a second run on it
// fails at once, naming the holder, and writes nothing.
TEST(Cache, ASecondRunOnTheSameCacheFailsAtOnce) {
  CacheFixture f;
  const std::string cache = f.tmp.file("cache");
  util::DirLock first_run(cache);  // this process stands for a run in progress
  auto second = run_talon(f.cache_args(cache));
  EXPECT_EQ(second.status, 1) << second.out;
  EXPECT_NE(second.out.find("talon: error: " + cache + " is in use by another talon process (pid " +
                            std::to_string(::getpid()) + ")"),
            std::string::npos)
      << second.out;
  std::vector<std::string> left;
  for (const fs::directory_entry& entry : fs::directory_iterator(cache)) {
    left.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(left, std::vector<std::string>{".talon.lock"});
}

TEST(Cache, FlagsOutOfTheirRangeAreRefusedByName) {
  for (const auto& [flag, value, range] : std::vector<std::array<std::string, 3>>{
           {"--max-length", "0", "[2, inf)"},
           {"--batch-size", "0", "[1, inf)"},
           {"--tp-size", "-1", "[1, inf)"},
           {"--collective-timeout", "0", "(0, inf)"},
           {"--heartbeat-timeout", "0", "(0, inf)"},
       }) {
    testing::expect_flag_refused("cache", flag, value, range);
  }
}

// Samples longer than the target's max_position_embeddings are refused
// before any shard is written, naming --max-length (as `talon train` does).
TEST(Cache, SamplesMustFitTheTargetsPositions) {
  CacheFixture f;
  const std::string short_target = f.make_target("short", {{"max_position_embeddings", 100}});
  std::string args = f.cache_args(f.tmp.file("cache"));
  args.replace(args.find(f.target), f.target.size(), short_target);
  auto run = run_talon(args);
  EXPECT_EQ(run.status, 1) << run.out;
  EXPECT_NE(run.out.find("more than the max_position_embeddings 100 of the target " + short_target +
                         ": lower --max-length (now 192) to at most 100"),
            std::string::npos)
      << run.out;
  EXPECT_FALSE(fs::exists(f.tmp.file("cache/index.json")));
}

}  // namespace
}  // namespace talon
