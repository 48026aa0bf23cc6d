// Per-rank peak memory and step time of `talon train` over parallel
// layouts: for each (world, --tp-size, --draft-tp-size) it starts the ranks
// as torchrun would (RANK, WORLD_SIZE, MASTER_ADDR, ...; Gloo on CPU), takes
// each rank's peak RSS from wait4(), and the step times from metrics.jsonl
// (tokens / tokens_per_s of each optimizer step). One line per layout.
//
// The models are bench/configs/parallel-{target,draft}.json (a Llama target
// of H 512 and 8 layers over the real Llama-3.1 vocabulary, its lm_head and
// embedding 0.5 GB in fp32; a draft of H 512 with an 8192-token draft
// vocabulary) with random weights; the data the bundled conversations.
// Every layout trains the same global batch (4 samples of micro-batch 1)
// for the same steps, so step times compare work per step.
//
// Usage (from the repository root, after scripts/setup.sh):
//   build/bench/parallel_train [--layouts 1:1:1,2:1:1,...] [--steps 8] [--threads N] [--talon build/tools/talon]
// A layout is world:tp:draft_tp. Each rank gets OMP_NUM_THREADS = cores /
// world (as `talon launch` gives), or --threads.
#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

extern char** environ;

namespace {

namespace fs = std::filesystem;

struct Layout {
  int world, tp, draft_tp;
};

std::vector<Layout> parse_layouts(const std::string& text) {
  std::vector<Layout> layouts;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    Layout l{};
    if (std::sscanf(item.c_str(), "%d:%d:%d", &l.world, &l.tp, &l.draft_tp) != 3) {
      throw std::runtime_error("--layouts: expected world:tp:draft_tp, found " + item);
    }
    layouts.push_back(l);
  }
  return layouts;
}

void run_or_die(const std::string& command) {
  if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
}

// Spawns `argv` with `env` added to this process's environment.
pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& env, const std::string& log) {
  std::vector<std::string> all_env = env;
  for (char** e = environ; *e; ++e) all_env.emplace_back(*e);
  std::vector<char*> envp, argv;
  for (std::string& e : all_env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> copy = args;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data()) != 0) {
    throw std::runtime_error("cannot start " + args[0]);
  }
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string layouts_text = "1:1:1,2:1:1,2:2:1,2:1:2,2:2:2,4:1:1,4:2:2,4:4:1,4:1:4,4:4:4";
  std::string talon = "build/tools/talon";
  int steps = 8, threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--layouts") layouts_text = argv[i + 1];
    else if (flag == "--steps") steps = std::atoi(argv[i + 1]);
    else if (flag == "--talon") talon = argv[i + 1];
    else if (flag == "--threads") threads = std::atoi(argv[i + 1]);
    else throw std::runtime_error("unknown flag " + flag);
  }
  talon = fs::absolute(talon).string();
  const fs::path work = fs::absolute("out/bench-parallel");
  fs::remove_all(work);
  fs::create_directories(work);
  // The build directory that holds the talon binary has the unpacked fixtures.
  const std::string tokenizer = (fs::path(talon).parent_path().parent_path() / "fixtures/tokenizers/llama3_1").string();
  run_or_die(fmt::format("{} init-target --config bench/configs/parallel-target.json --tokenizer {} --output-dir {} "
                         "--seed 0 > /dev/null",
                         talon, tokenizer, (work / "target").string()));
  run_or_die(fmt::format("{} prepare --train-data-path examples/conversations.jsonl --target-model-path {} "
                         "--chat-template llama3 --max-length 1024 --draft-vocab-size 8192 --output-dir {} --quiet "
                         "> /dev/null",
                         talon, (work / "target").string(), (work / "data").string()));

  fmt::print("world tp draft_tp draft_dp threads | step s (median) | tokens/s | peak RSS MiB: rank 0, max, min | wall s\n");
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));  // shared out as talon launch does
  int port = 29700;
  for (const Layout& l : parse_layouts(layouts_text)) {
    const fs::path out = work / fmt::format("w{}_tp{}_dtp{}", l.world, l.tp, l.draft_tp);
    const std::vector<std::string> args = {
        talon, "train", "--target-model-path", (work / "target").string(), "--draft-model-config",
        "bench/configs/parallel-draft.json", "--train-data-path", (work / "data").string(), "--chat-template",
        "llama3", "--max-length", "1024", "--output-dir", out.string(), "--num-epochs", "1", "--max-steps",
        std::to_string(steps), "--ttt-length", "7", "--draft-global-batch-size", "4", "--draft-micro-batch-size",
        "1", "--tp-size", std::to_string(l.tp), "--draft-tp-size", std::to_string(l.draft_tp), "--save-interval",
        "1000000", "--quiet"};
    const auto start = std::chrono::steady_clock::now();
    std::vector<pid_t> pids;
    ++port;
    for (int rank = 0; rank < l.world; ++rank) {
      pids.push_back(spawn(args,
                           {"RANK=" + std::to_string(rank), "LOCAL_RANK=" + std::to_string(rank),
                            "WORLD_SIZE=" + std::to_string(l.world), "MASTER_ADDR=127.0.0.1",
                            "MASTER_PORT=" + std::to_string(port),
                            "OMP_NUM_THREADS=" + std::to_string(threads > 0 ? threads : std::max(1, cores / l.world))},
                           (work / fmt::format("w{}_tp{}_dtp{}.rank{}.log", l.world, l.tp, l.draft_tp, rank)).string()));
    }
    std::vector<double> rss_mib;
    for (pid_t pid : pids) {
      int status = 0;
      rusage usage{};
      ::wait4(pid, &status, 0, &usage);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("a rank failed; see " + work.string());
      rss_mib.push_back(usage.ru_maxrss / 1024.0);
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::vector<double> step_s;
    double tokens = 0, seconds = 0;
    std::ifstream metrics(out / "metrics.jsonl");
    for (std::string line; std::getline(metrics, line);) {
      nlohmann::json r = nlohmann::json::parse(line);
      const double s = r["tokens"].get<double>() / r["tokens_per_s"].get<double>();
      if (r["step"].get<int>() > 1) {  // the first step warms up
        step_s.push_back(s);
        tokens += r["tokens"].get<double>();
        seconds += s;
      }
    }
    fmt::print("{} {} {} {} {} | {:.2f} | {:.0f} | {:.0f}, {:.0f}, {:.0f} | {:.1f}\n", l.world, l.tp, l.draft_tp,
               l.world / l.draft_tp, threads > 0 ? threads : std::max(1, cores / l.world), median(step_s), tokens / seconds, rss_mib[0],
               *std::max_element(rss_mib.begin(), rss_mib.end()), *std::min_element(rss_mib.begin(), rss_mib.end()),
               wall);
    std::fflush(stdout);
  }
  return 0;
}
