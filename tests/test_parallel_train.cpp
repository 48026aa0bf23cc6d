// `talon train` over several processes on this machine (Gloo on loopback),
// started as torchrun would start them or by `talon launch`: every layout
// of worlds 2 and 4 gives the per-step losses and final weights of one
// process; a world-2 checkpoint resumes on four ranks; a rank that dies or
// fails stops the others with a message naming it; bad layouts are refused.
#include <ATen/ATen.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "talon/io/safetensors.h"
#include "train_fixture.h"

namespace talon {
namespace {

using nlohmann::json;
using testing::final_checkpoint;
using testing::Fixture;
using testing::kTtt;
using testing::run_talon;
using testing::spawn_talon;
using testing::train_records;
using testing::expect_same_training;

using Clock = std::chrono::steady_clock;

// 17 samples in micro-batches of 2 (the last one short), 8 per step: steps
// of 4, 4 and 1 micro-batches per epoch, so a draft-DP rank may get none.
struct ParallelFixture : Fixture {
  ParallelFixture() : Fixture(17) {
    epochs = 2;
    global_batch = 8;
    micro_batch = 2;
  }
};

std::string rank_env(int rank, int world, int port) {
  return fmt::format("RANK={} WORLD_SIZE={} LOCAL_RANK={} MASTER_ADDR=127.0.0.1 MASTER_PORT={} OMP_NUM_THREADS=1",
                     rank, world, rank, port);
}

// Waits for `pid` until `deadline`; -1 when it is still running then.
int wait_until(pid_t pid, Clock::time_point deadline) {
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct World {
  std::vector<pid_t> pids;
  std::vector<std::string> logs;
};

// Starts `world` ranks of `talon <args>` with torchrun's variables.
World start_world(const Fixture& f, int world, const std::string& args, const std::string& name) {
  World w;
  const int port = testing::free_port();
  for (int rank = 0; rank < world; ++rank) {
    w.logs.push_back(f.tmp.file(fmt::format("{}.rank{}.log", name, rank)));
    w.pids.push_back(spawn_talon(args, w.logs.back(), rank_env(rank, world, port)));
  }
  return w;
}

// Runs the ranks to the end; every one must succeed.
void run_world(const Fixture& f, int world, const std::string& args, const std::string& name) {
  World w = start_world(f, world, args, name);
  const auto deadline = Clock::now() + std::chrono::seconds(300);
  for (int rank = 0; rank < world; ++rank) {
    const int status = wait_until(w.pids[rank], deadline);
    if (status == -1) ::kill(w.pids[rank], SIGKILL);
    EXPECT_EQ(status, 0) << name << " rank " << rank << ":\n" << util::read_file(w.logs[rank]);
  }
}

struct Layout {
  int world, tp, draft_tp;
};

void expect_layouts_match_one_process(const std::vector<Layout>& layouts) {
  ParallelFixture f;
  const std::string one = f.tmp.file("world1");
  auto base = run_talon(f.args(one));
  ASSERT_EQ(base.status, 0) << base.out;
  ASSERT_EQ(train_records(one).size(), 6u);
  for (const Layout& l : layouts) {
    const std::string name = fmt::format("world{}_tp{}_dtp{}", l.world, l.tp, l.draft_tp);
    SCOPED_TRACE(name);
    const std::string out = f.tmp.file(name);
    run_world(f, l.world, f.args(out, fmt::format("--tp-size {} --draft-tp-size {}", l.tp, l.draft_tp)), name);
    expect_same_training(out, one);
  }
}

TEST(ParallelTrain, WorldTwoLayoutsMatchOneProcess) {
  expect_layouts_match_one_process({{2, 1, 1}, {2, 2, 1}, {2, 1, 2}, {2, 2, 2}});
}

TEST(ParallelTrain, WorldFourTargetLayoutsMatchOneProcess) {
  expect_layouts_match_one_process({{4, 1, 1}, {4, 2, 1}, {4, 4, 1}});
}

TEST(ParallelTrain, WorldFourDraftLayoutsMatchOneProcess) {
  expect_layouts_match_one_process({{4, 1, 2}, {4, 2, 2}, {4, 1, 4}});
}

// `talon launch` starts the ranks itself, with the same result.
TEST(ParallelTrain, LaunchRunsTheRanks) {
  ParallelFixture f;
  const std::string one = f.tmp.file("world1"), launched = f.tmp.file("launched");
  ASSERT_EQ(run_talon(f.args(one)).status, 0);
  auto run = run_talon("launch --nproc-per-node 2 -- " + f.args(launched, "--tp-size 2 --draft-tp-size 2"));
  ASSERT_EQ(run.status, 0) << run.out;
  EXPECT_NE(run.out.find("checkpoint: " + final_checkpoint(launched)), std::string::npos) << run.out;
  expect_same_training(launched, one);
}

// A checkpoint written by two ranks (target TP 2, draft DP 2) resumes on
// four (draft DP 4: every ZeRO-2 chunk cut anew) and ends where one
// process does.
TEST(ParallelTrain, AWorldTwoCheckpointResumesOnFourRanks) {
  ParallelFixture f;
  const std::string one = f.tmp.file("world1"), split = f.tmp.file("split");
  ASSERT_EQ(run_talon(f.args(one)).status, 0);
  run_world(f, 2, f.args(split, "--tp-size 2 --max-steps 4"), "first");
  ASSERT_EQ(util::read_file(split + "/latest"), "epoch_1_step_4\n");
  run_world(f, 4, f.args(split, "--resume"), "second");
  EXPECT_NE(util::read_file(f.tmp.file("second.rank0.log")).find("resumed from " + split + "/epoch_1_step_4"),
            std::string::npos);
  expect_same_training(split, one);
}

// Kills `victim` once training has begun; the other rank must exit non-zero
// within 60 s, naming it.
void expect_death_is_reported(int victim) {
  ParallelFixture f;
  f.epochs = 1000;  // runs until killed
  const std::string out = f.tmp.file("out");
  World w = start_world(f, 2, f.args(out, "--heartbeat-timeout 10"), "run");
  const auto started = Clock::now() + std::chrono::seconds(120);
  while (!std::filesystem::exists(out + "/metrics.jsonl") && Clock::now() < started) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(std::filesystem::exists(out + "/metrics.jsonl")) << util::read_file(w.logs[0]);
  ::kill(w.pids[victim], SIGKILL);
  ::waitpid(w.pids[victim], nullptr, 0);
  const int survivor = 1 - victim;
  const auto killed_at = Clock::now();
  const int status = wait_until(w.pids[survivor], killed_at + std::chrono::seconds(60));
  if (status == -1) ::kill(w.pids[survivor], SIGKILL);
  const std::string log = util::read_file(w.logs[survivor]);
  EXPECT_NE(status, -1) << "rank " << survivor << " still running 60 s after rank " << victim << " died:\n" << log;
  EXPECT_NE(status, 0) << log;
  EXPECT_NE(log.find(fmt::format("rank {} stopped", victim)), std::string::npos) << log;
}

TEST(ParallelTrain, ADeadRankStopsTheOthers) { expect_death_is_reported(1); }

TEST(ParallelTrain, TheDeathOfTheStoreHostStopsTheOthers) { expect_death_is_reported(0); }

// Rank 0 prepares the data and fails on a bad line: rank 1, waiting for
// it, stops at once with rank 0's message.
TEST(ParallelTrain, AFailingRankStopsTheOthersWithItsMessage) {
  ParallelFixture f;
  const std::string bad = f.tmp.write("bad.jsonl", testing::first_conversations(2) + "{not json\n");
  std::string args = f.args(f.tmp.file("out"));
  args.replace(args.find(f.data), f.data.size(), bad);
  const auto start = Clock::now();
  World w = start_world(f, 2, args, "run");
  for (int rank = 0; rank < 2; ++rank) {
    const int status = wait_until(w.pids[rank], start + std::chrono::seconds(60));
    if (status == -1) ::kill(w.pids[rank], SIGKILL);
    EXPECT_EQ(status, 1) << util::read_file(w.logs[rank]);
  }
  const std::string log = util::read_file(w.logs[1]);
  EXPECT_NE(log.find("rank 1 of 2: rank 0 failed: "), std::string::npos) << log;
  EXPECT_NE(log.find("bad.jsonl:3"), std::string::npos) << log;
}

// Ranks given different output directories would resume from different
// steps and part ways; every rank refuses instead.
TEST(ParallelTrain, ResumeRefusesRanksThatSeeDifferentCheckpoints) {
  ParallelFixture f;
  const std::string a = f.tmp.file("a"), b = f.tmp.file("b");
  ASSERT_EQ(run_talon(f.args(a, "--max-steps 1")).status, 0);
  const int port = testing::free_port();
  const std::vector<pid_t> pids = {spawn_talon(f.args(a, "--resume"), f.tmp.file("rank0.log"), rank_env(0, 2, port)),
                                   spawn_talon(f.args(b, "--resume"), f.tmp.file("rank1.log"), rank_env(1, 2, port))};
  for (int rank = 0; rank < 2; ++rank) {
    const int status = wait_until(pids[rank], Clock::now() + std::chrono::seconds(120));
    if (status == -1) ::kill(pids[rank], SIGKILL);
    const std::string log = util::read_file(f.tmp.file(fmt::format("rank{}.log", rank)));
    EXPECT_EQ(status, 1) << log;
    EXPECT_NE(log.find("the ranks see different newest checkpoints"), std::string::npos) << log;
  }
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) children.push_back(std::stoi(name));
  }
  return children;
}

// One rank killed under `talon launch`: the launcher stops the other and
// exits non-zero, naming the rank.
TEST(ParallelTrain, LaunchStopsEveryRankWhenOneDies) {
  ParallelFixture f;
  f.epochs = 1000;
  const std::string out = f.tmp.file("out"), log = f.tmp.file("launch.log");
  pid_t launcher = spawn_talon("launch --nproc-per-node 2 --grace-period 5 -- " + f.args(out), log);
  const auto started = Clock::now() + std::chrono::seconds(120);
  while (!std::filesystem::exists(out + "/metrics.jsonl") && Clock::now() < started) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::vector<pid_t> ranks = children_of(launcher);
  ASSERT_EQ(ranks.size(), 2u) << util::read_file(log);
  ::kill(ranks[1], SIGKILL);
  const int status = wait_until(launcher, Clock::now() + std::chrono::seconds(30));
  if (status == -1) ::kill(launcher, SIGKILL);
  EXPECT_EQ(status, 128 + SIGKILL) << util::read_file(log);
  EXPECT_NE(util::read_file(log).find("was killed by signal 9 (Killed); stopping the other ranks"), std::string::npos)
      << util::read_file(log);
  EXPECT_TRUE(children_of(launcher).empty());
  EXPECT_NE(::kill(ranks[0], 0), 0) << "rank left running";
}

TEST(ParallelTrain, BadLayoutsAreRefused) {
  ParallelFixture f;
  auto refuse = [&](const std::string& extra, const std::string& message, const std::string& draft = "") {
    std::string args = f.args(f.tmp.file("bad"), extra);
    if (!draft.empty()) args.replace(args.find(f.draft_config), f.draft_config.size(), draft);
    auto run = run_talon("launch --nproc-per-node 2 -- " + args);
    EXPECT_NE(run.status, 0) << run.out;
    EXPECT_NE(run.out.find(message), std::string::npos) << message << " in " << run.out;
  };
  refuse("--tp-size 3", "--tp-size 3 must divide the world size 2");
  refuse("--draft-tp-size 4", "--draft-tp-size 4 must divide the world size 2");
  f.global_batch = 2;
  refuse("", "--draft-global-batch-size 2 must be a positive multiple of --draft-micro-batch-size 2 times the draft "
             "data-parallel size 2 (world 2 / --draft-tp-size 1)");
  f.global_batch = 8;
  json draft = json::parse(util::read_file(f.draft_config));
  draft["intermediate_size"] = 255;
  refuse("--draft-tp-size 2", "--draft-tp-size 2 does not divide the intermediate_size of the draft (255)",
         f.tmp.write("odd.json", draft.dump()));
}

TEST(ParallelTrain, LaunchFlagsOutOfTheirRangeAreRefusedByName) {
  for (const auto& [flag, value, range] : std::vector<std::array<std::string, 3>>{
           {"--nproc-per-node", "0", "[1, inf)"},
           {"--nnodes", "0", "[1, inf)"},
           {"--node-rank", "-1", "[0, inf)"},
           {"--master-port", "70000", "[0, 65535]"},
           {"--grace-period", "-1", "[0, inf)"},
       }) {
    testing::expect_flag_refused("launch", flag, value, range);
  }
}

}  // namespace
}  // namespace talon
