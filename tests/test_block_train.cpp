// `talon train --strategy dflash|dspark` on the tiny Llama target: online
// and offline (`talon cache --strategy ...`) train alike; a stopped run
// resumes bit-identically; draft-DP, target-TP and draft-TP layouts over
// several processes (Gloo on loopback) match one process; the checkpoints pass the
// engines' loader checks; what Talon does not compute is refused by name.
#include <ATen/ATen.h>
#include <sys/wait.h>

#include <filesystem>

#include "talon/io/safetensors.h"
#include "talon/model/block/block_check.h"
#include "train_fixture.h"

namespace talon {
namespace {

using nlohmann::json;
using testing::final_checkpoint;
using testing::Fixture;
using testing::relative;
using testing::run_talon;
using testing::train_records;

const char* const kStrategies[] = {"dflash", "dspark"};

// The tiny example config of `strategy`, with the Fixture's batch shape.
struct BlockFixture : Fixture {
  std::string strategy;
  explicit BlockFixture(const std::string& s, int conversations = 12) : Fixture(conversations), strategy(s) {
    draft_config = std::string(TALON_SOURCE_DIR) + "/examples/tiny-" + s + "-config.json";
  }
  std::string block_args(const std::string& source, const std::string& out, const std::string& extra = "") const {
    return train_args(source, out, fmt::format("--strategy {} --num-anchors 8 {}", strategy, extra));
  }
};

// Per-step objectives and gradient norms within 1e-5, the same tokens, and
// the final fp32 masters within 1e-5 (||a - b|| / ||b||). DSpark's
// markov_w2 [V, r] gets 5e-5: every one of its 128K vocabulary rows takes a
// dense, mostly near-cancelling softmax gradient, and AdamW moves an element
// by about the learning rate whatever its gradient's size, so the other
// order of the ranks' sums flips a few near-zero elements' steps
// (train_fixture.h's expect_same_training explains the same effect).
void expect_same_training(const std::string& got_dir, const std::string& want_dir) {
  std::vector<json> got = train_records(got_dir), want = train_records(want_dir);
  ASSERT_EQ(got.size(), want.size());
  ASSERT_FALSE(want.empty());
  for (std::size_t k = 0; k < got.size(); ++k) {
    SCOPED_TRACE(::testing::Message() << "step " << k + 1);
    EXPECT_EQ(got[k]["tokens"], want[k]["tokens"]);
    for (const char* key : {"loss", "grad_norm"}) EXPECT_LE(relative(got[k][key], want[k][key]), 1e-5) << key;
  }
  io::SafetensorsFile a = io::SafetensorsFile::open(final_checkpoint(got_dir) + "/training_state/tensors.safetensors");
  io::SafetensorsFile b = io::SafetensorsFile::open(final_checkpoint(want_dir) + "/training_state/tensors.safetensors");
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (const io::TensorInfo& info : b.tensors()) {
    if (info.name.rfind("master.", 0) != 0) continue;
    at::Tensor x = a.tensor(info.name).to(at::kDouble), y = b.tensor(info.name).to(at::kDouble);
    const double tolerance = info.name.find("markov_w2") != std::string::npos ? 5e-5 : 1e-5;
    EXPECT_LE((x - y).norm().item<double>() / y.norm().item<double>(), tolerance) << info.name;
  }
}

TEST(BlockTrain, OnlineAndOfflineTrainAlikeAndTheCheckpointsServe) {
  for (const char* strategy : kStrategies) {
    SCOPED_TRACE(strategy);
    BlockFixture f(strategy);
    const std::string online = f.tmp.file("online"), cache = f.tmp.file("cache"), offline = f.tmp.file("offline");
    auto a = run_talon(f.block_args("--train-data-path " + f.data, online));
    ASSERT_EQ(a.status, 0) << a.out;
    auto c = run_talon(fmt::format("cache --strategy {} --target-model-path {} --draft-model-config {} --data-path {} "
                                   "--chat-template llama3 --max-length 192 --output-dir {} --dtype fp32 --quiet",
                                   strategy, f.target, f.draft_config, f.data, cache));
    ASSERT_EQ(c.status, 0) << c.out;
    auto b = run_talon(f.block_args("--train-hidden-states-path " + cache, offline));
    ASSERT_EQ(b.status, 0) << b.out;
    expect_same_training(offline, online);

    std::vector<json> records = train_records(online);
    ASSERT_EQ(records.size(), 12u);
    EXPECT_LT(records.back()["loss"].get<double>(), records.front()["loss"].get<double>());
    EXPECT_EQ(records.front()["acc"].size(), std::string(strategy) == "dflash" ? 3u : 4u);  // slots 1..3 or 0..3
    const std::string checkpoint = final_checkpoint(online);
    const model::Strategy s = model::parse_strategy(strategy);
    const model::DraftCheck check =
        model::check_block_draft_for_engines(checkpoint, s, io::load_target_config(f.target), "the tiny target");
    EXPECT_TRUE(check.problems.empty()) << check.problems.front();
    const json config = json::parse(util::read_file(checkpoint + "/config.json"));
    EXPECT_EQ(config["architectures"][0], std::string(strategy) == "dflash" ? "DFlashDraftModel" : "Qwen3DSparkModel");
    // A tensor the engines do not know is caught: SGLang would skip it.
    io::SafetensorsFile weights = io::SafetensorsFile::open(checkpoint + "/model.safetensors");
    io::NamedTensors renamed;
    for (const io::TensorInfo& info : weights.tensors()) {
      renamed.emplace_back(info.name == "norm.weight" ? "model.norm_typo.weight" : info.name, weights.tensor(info.name));
    }
    const std::string broken = f.tmp.file("broken");
    std::filesystem::create_directories(broken);
    std::filesystem::copy_file(checkpoint + "/config.json", broken + "/config.json");
    io::write_safetensors(broken + "/model.safetensors", renamed);
    const model::DraftCheck bad =
        model::check_block_draft_for_engines(broken, s, io::load_target_config(f.target), "the tiny target");
    ASSERT_EQ(bad.problems.size(), 2u);
    EXPECT_NE(bad.problems[0].find("model.norm_typo.weight"), std::string::npos) << bad.problems[0];
    EXPECT_NE(bad.problems[1].find("norm.weight is missing"), std::string::npos) << bad.problems[1];
  }
}

TEST(BlockTrain, StopAndResumeIsBitIdentical) {
  for (const char* strategy : kStrategies) {
    SCOPED_TRACE(strategy);
    BlockFixture f(strategy);
    const std::string straight = f.tmp.file("straight"), split = f.tmp.file("split");
    const std::string data = "--train-data-path " + f.data;
    ASSERT_EQ(run_talon(f.block_args(data, straight)).status, 0);
    ASSERT_EQ(run_talon(f.block_args(data, split, "--max-steps 7")).status, 0);
    auto resumed = run_talon(f.block_args(data, split, "--resume"));
    ASSERT_EQ(resumed.status, 0) << resumed.out;
    const std::string a = final_checkpoint(straight), b = final_checkpoint(split);
    EXPECT_EQ(std::filesystem::path(a).filename(), std::filesystem::path(b).filename());
    EXPECT_TRUE(util::read_file(a + "/model.safetensors") == util::read_file(b + "/model.safetensors"));
    EXPECT_EQ(train_records(straight), train_records(split));
  }
}

std::string rank_env(int rank, int world, int port) {
  return fmt::format("RANK={} WORLD_SIZE={} LOCAL_RANK={} MASTER_ADDR=127.0.0.1 MASTER_PORT={} OMP_NUM_THREADS=1",
                     rank, world, rank, port);
}

// 17 samples in micro-batches of 2, 8 per step: steps of 4, 4 and 1
// micro-batches per epoch, so a draft-DP rank may get none.
TEST(BlockTrain, ParallelLayoutsMatchOneProcess) {
  for (const char* strategy : kStrategies) {
    SCOPED_TRACE(strategy);
    BlockFixture f(strategy, 17);
    f.global_batch = 8;
    f.micro_batch = 2;
    const std::string data = "--train-data-path " + f.data;
    const std::string one = f.tmp.file("world1");
    auto base = run_talon(f.block_args(data, one));
    ASSERT_EQ(base.status, 0) << base.out;
    for (const auto& [tp, draft_tp] : {std::pair{1, 1}, std::pair{2, 1}, std::pair{1, 2}}) {
      const std::string out = f.tmp.file(fmt::format("world2_tp{}_dtp{}", tp, draft_tp));
      const int port = testing::free_port();
      std::vector<pid_t> pids;
      std::vector<std::string> logs;
      for (int rank = 0; rank < 2; ++rank) {
        logs.push_back(f.tmp.file(fmt::format("tp{}_dtp{}.rank{}.log", tp, draft_tp, rank)));
        pids.push_back(testing::spawn_talon(
            f.block_args(data, out, fmt::format("--tp-size {} --draft-tp-size {}", tp, draft_tp)), logs.back(),
            rank_env(rank, 2, port)));
      }
      for (int rank = 0; rank < 2; ++rank) {
        int status = 0;
        ::waitpid(pids[rank], &status, 0);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << util::read_file(logs[rank]);
      }
      SCOPED_TRACE(out);
      expect_same_training(out, one);
    }
  }
}

TEST(BlockTrain, WhatTalonDoesNotComputeIsRefusedByName) {
  BlockFixture f("dflash");
  const std::string data = "--train-data-path " + f.data;
  auto refused = [&](const std::string& extra, const std::string& config, const std::string& expected) {
    BlockFixture g("dflash");
    if (!config.empty()) g.draft_config = g.tmp.write("draft.json", config);
    auto run = run_talon(g.block_args(data, g.tmp.file("out"), extra));
    EXPECT_NE(run.status, 0);
    EXPECT_NE(run.out.find(expected), std::string::npos) << run.out;
  };
  refused("--draft-vocab-size 2048", "", "--draft-vocab-size 2048");
  refused("--init-draft " + f.target, "", "--init-draft");
  json config = json::parse(util::read_file(f.draft_config));
  config["hidden_size"] = 32;
  refused("", config.dump(), "hidden_size 32 differs from the target's 64");
  config = json::parse(util::read_file(f.draft_config));
  config["num_target_layers"] = 12;
  refused("", config.dump(), "num_target_layers 12");
  config = json::parse(util::read_file(f.draft_config));
  config["dflash_config"].erase("mask_token_id");
  // The Llama 3.1 tokenizer has no <|MASK|> and no unused row, but its eos:
  // SpecForge's order ends there, and the run trains with it.
  BlockFixture g("dflash");
  g.draft_config = g.tmp.write("draft.json", config.dump());
  const std::string out = g.tmp.file("out");
  auto run = run_talon(g.block_args(data, out, "--max-steps 1"));
  ASSERT_EQ(run.status, 0) << run.out;
  const json saved = json::parse(util::read_file(final_checkpoint(out) + "/config.json"));
  EXPECT_EQ(saved["dflash_config"]["mask_token_id"], 128009);  // <|eot_id|>, tokenizer_config.json's eos_token
}

}  // namespace
}  // namespace talon
