// Peak resident memory of one EAGLE-3 training step against the sequence
// length L, for the plain TTT path (TttOptions::plain(): [L, L] attention
// scores, the whole-sequence head, every activation kept) and the
// long-context path (the defaults: blockwise attention, chunked head, the
// decoder layer recomputed in the backward pass). The long path must stay
// linear in L plus a constant: RSS(16K) / RSS(2K) <= 9.
//
// One step is what online training does per micro-batch: the target's
// forward for the features (train::OnlineFeatures), then the draft's TTT
// forward and backward, for one sample of L random tokens. Target and draft
// are the tiny ones of examples/ (H = 64) with random weights, on CPU in fp32.
//
// Peak RSS never goes down within a process, so each (path, L) runs in a
// fresh child: this program re-executed with --one. The parent prints one
// line per L. The plain path needs O(T L^2) memory (about 11 GiB at 8K with
// T = 7), so it is skipped above --max-plain-length.
//
// Then whole `talon train` processes, as a user runs them: the same tiny
// target (made by `talon init-target` with the real Llama-3.1 tokenizer, so
// the full 128K vocabulary), one conversation cut to L tokens, one optimizer
// step, --train-repeats runs per L, each reported: wall time and peak RSS
// (VmHWM, read from /proc while it runs), start-up, data preparation and the
// checkpoint included.
//
// Usage (from the repository root):
//   build/bench/long_context [--lengths 2048,4096,8192,16384,32768] [--max-plain-length 8192]
//       [--ttt-length 7] [--threads N] [--target-config examples/tiny-target-config.json]
//       [--draft-config examples/tiny-draft-config.json]
//       [--train-lengths 8192,16384,32768,65536] [--train-repeats 2] [--talon build/tools/talon]
//       [--tokenizer build/fixtures/tokenizers/llama3_1]
//       [--strategy eagle3|dflash|dspark] [--train-attention blockwise|naive]
// An empty list (--lengths "" or --train-lengths "") skips that part. The
// first part measures EAGLE-3's step alone; the `talon train` runs train
// --strategy's draft (--draft-config: examples/tiny-dflash-config.json,
// tiny-dspark-config.json), with --train-attention naive for the plain
// masked block attention ([N * block_size, S] scores per layer and head).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "talon/data/batcher.h"
#include "talon/io/hf_config.h"
#include "talon/io/safetensors.h"
#include "talon/model/eagle3/eagle3_draft.h"
#include "talon/model/target_model.h"
#include "talon/model/target_weights.h"
#include "talon/model/eagle3/eagle3_method.h"
#include "talon/model/eagle3/ttt.h"
#include "talon/train/online_features.h"
#include "talon/util/error.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace data = talon::data;
namespace io = talon::io;
namespace model = talon::model;
namespace train = talon::train;
using talon::fail;

constexpr std::int64_t kRatioFrom = 2048, kRatioTo = 16384;  // the linearity check
constexpr double kRatioLimit = 9;

struct Options {
  std::vector<std::int64_t> lengths = {2048, 4096, 8192, 16384, 32768};
  std::int64_t max_plain_length = 8192;
  int ttt_length = 7;
  int threads = at::get_num_threads();  // torch's default, which `talon train` keeps
  std::string target_config = "examples/tiny-target-config.json";
  std::string draft_config = "examples/tiny-draft-config.json";
  std::vector<std::int64_t> train_lengths = {8192, 16384, 32768, 65536};
  int train_repeats = 2;
  std::string talon = "build/tools/talon";
  std::string tokenizer = "build/fixtures/tokenizers/llama3_1";
  // The `talon train` runs: the draft method (its config is --draft-config)
  // and the attention backend (blockwise, or naive: the plain form).
  std::string strategy = "eagle3";
  std::string train_attention = "blockwise";
};

// What one child measures; every figure in MiB or seconds.
struct StepFigures {
  double models_mib = 0;    // peak after building target, draft and the sample
  double features_mib = 0;  // peak after the target's forward
  double peak_mib = 0;      // peak of the whole step
  double features_s = 0;    // the target's forward
  double step_s = 0;        // the target's forward, the TTT forward and its backward
};

// The high-water mark of this process's own address space (VmHWM), MiB.
// Not getrusage/wait4's ru_maxrss: a posix_spawn child starts on its
// parent's address space, and ru_maxrss keeps that one's peak across exec.
double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // "VmHWM:  1234 kB"
  }
  fail("/proc/self/status: no VmHWM line");
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Any valid draft vocabulary will do for memory: the first Vd target ids.
model::DraftVocab first_ids_vocab(const io::DraftConfig& config) {
  return {at::zeros({config.draft_vocab_size}, at::kLong), at::arange(config.vocab_size) < config.draft_vocab_size};
}

// One sample of `length` random tokens, supervised everywhere but the last
// position (which has no next token).
data::Batch random_sample(std::int64_t vocab_size, std::int64_t length, at::Generator& generator) {
  data::Batch batch;
  batch.input_ids = at::randint(0, vocab_size, {1, length}, generator, at::kLong);
  batch.loss_mask = at::ones({1, length}, at::kFloat);
  batch.loss_mask.select(1, length - 1).fill_(0);
  batch.lengths = at::full({1}, length, at::kLong);
  batch.num_tokens = length;
  return batch;
}

// The child: one training step on one path, its figures printed on stdout.
void run_one_step(bool plain, std::int64_t length, int ttt_length, int threads, const std::string& target_dir,
                  const std::string& draft_config) {
  at::set_num_threads(threads);
  model::TargetModel target = model::TargetModel::load(target_dir, at::kCPU, at::kFloat);
  io::DraftConfig config = io::load_draft_config(draft_config);
  at::Generator generator = at::detail::createCPUGenerator(0);
  model::Eagle3Draft draft =
      model::Eagle3Draft::create(config, target.embed_tokens(), generator, at::TensorOptions().dtype(at::kFloat));
  const model::DraftVocab vocab = first_ids_vocab(config);
  train::OnlineFeatures features(target, io::aux_layer_ids(config, static_cast<int>(target.config().num_hidden_layers)),
                                 train::DistributionReads{vocab, model::draft_head_rows(target.lm_head(), vocab), {}});
  data::Batch sample = random_sample(config.vocab_size, length, generator);

  StepFigures f;
  f.models_mib = peak_rss_mib();
  const auto start = std::chrono::steady_clock::now();
  model::TttBatch batch = model::ttt_batch(features.make(sample));
  f.features_s = seconds_since(start);
  f.features_mib = peak_rss_mib();
  model::TttOutput out =
      model::ttt_forward(draft, batch, ttt_length, plain ? model::TttOptions::plain() : model::TttOptions{});
  out.loss.backward();
  f.step_s = seconds_since(start);
  f.peak_mib = peak_rss_mib();
  fmt::print("{} {} {} {} {}\n", f.models_mib, f.features_mib, f.peak_mib, f.features_s, f.step_s);
}

// Runs this program with `args` and returns what it printed on stdout; its
// stderr goes to ours. Throws unless it exits with status 0.
std::string run_child(const std::vector<std::string>& args) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) fail("pipe: {}", std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(pipe_fds[0]);
    fail("posix_spawn /proc/self/exe: {}", std::strerror(spawned));
  }
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) != 0;) {
    if (n > 0) out.append(buffer, static_cast<std::size_t>(n));
    else if (errno != EINTR) break;
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) fail("`{}` was killed by signal {}", fmt::join(args, " "), WTERMSIG(status));
  if (WEXITSTATUS(status) != 0) fail("`{}` exited with status {}", fmt::join(args, " "), WEXITSTATUS(status));
  return out;
}

// One (path, L) measurement in a fresh process.
StepFigures measure(const Options& o, bool plain, std::int64_t length, const std::string& target_dir) {
  std::istringstream out(run_child({"long_context", "--one", plain ? "plain" : "long", std::to_string(length),
                                    std::to_string(o.ttt_length), std::to_string(o.threads), target_dir,
                                    o.draft_config}));
  StepFigures f;
  if (!(out >> f.models_mib >> f.features_mib >> f.peak_mib >> f.features_s >> f.step_s)) {
    fail("step at length {}: the child printed no figures", length);
  }
  return f;
}

// A directory under /tmp removed with everything in it when this goes out of scope.
struct TempDir {
  std::string path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "talon-long-context-XXXXXX").string();
    if (!mkdtemp(pattern.data())) fail("mkdtemp {}: {}", pattern, std::strerror(errno));
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

// A target directory with random weights for `config_path`, as `talon
// init-target` writes it (bf16, the tiny config's torch_dtype).
void write_random_target(const std::string& config_path, const std::string& dir) {
  io::TargetConfig config = io::load_target_config(config_path);
  io::write_safetensors(dir + "/model.safetensors",
                               model::random_target_weights(config, 0.02, 0, at::kBFloat16), {{"format", "pt"}});
  fs::copy_file(config_path, dir + "/config.json");
}

void print_setup(const Options& o, const io::TargetConfig& t, const io::DraftConfig& d) {
  fmt::print("device cpu dtype fp32 torch_threads {} ttt_length {} batch 1\n", o.threads, o.ttt_length);
  fmt::print("lengths {} max_plain_length {}\n", fmt::join(o.lengths, ","), o.max_plain_length);
  fmt::print("target {}: layers {} hidden {} intermediate {} heads {}/{} head_dim {} vocab {} aux_layers {}\n",
             o.target_config, t.num_hidden_layers, t.hidden_size, t.intermediate_size, t.num_attention_heads,
             t.num_key_value_heads, t.head_dim, t.vocab_size,
             fmt::join(io::aux_layer_ids(d, static_cast<int>(t.num_hidden_layers)), ","));
  fmt::print("draft {}: hidden {} intermediate {} heads {}/{} head_dim {} draft_vocab {}\n", o.draft_config,
             d.hidden_size, d.intermediate_size, d.num_attention_heads, d.num_key_value_heads, d.head_dim,
             d.draft_vocab_size);
  fmt::print("features_*: the target's forward alone (from the long run); *_s: the whole step, one cold step\n");
  std::fflush(stdout);
}

// RSS(kRatioTo) / RSS(kRatioFrom) for a path, when both lengths were measured.
void print_ratio(const char* path, const std::map<std::int64_t, double>& peak_mib, std::optional<double> limit) {
  if (!peak_mib.count(kRatioFrom) || !peak_mib.count(kRatioTo)) return;
  const double ratio = peak_mib.at(kRatioTo) / peak_mib.at(kRatioFrom);
  fmt::print("{}_rss_ratio_{}_over_{} {:.2f}", path, kRatioTo, kRatioFrom, ratio);
  if (limit) fmt::print(" (limit {}: {})", *limit, ratio <= *limit ? "pass" : "FAIL");
  fmt::print("\n");
}

void run_all(const Options& o) {
  if (o.lengths.empty()) return;
  const io::TargetConfig target = io::load_target_config(o.target_config);
  const io::DraftConfig draft = io::load_draft_config(o.draft_config);
  print_setup(o, target, draft);
  TempDir target_dir;
  write_random_target(o.target_config, target_dir.path);

  std::map<std::int64_t, double> plain_peak, long_peak;
  double models_mib = 0;
  for (std::int64_t length : o.lengths) {
    std::string plain_figures = "plain_peak_rss_mib skipped plain_s skipped";
    if (length <= o.max_plain_length) {
      StepFigures plain = measure(o, true, length, target_dir.path);
      plain_peak[length] = plain.peak_mib;
      plain_figures = fmt::format("plain_peak_rss_mib {:.0f} plain_s {:.2f}", plain.peak_mib, plain.step_s);
    }
    StepFigures lc = measure(o, false, length, target_dir.path);
    long_peak[length] = lc.peak_mib;
    models_mib = lc.models_mib;
    fmt::print("length {} features_peak_rss_mib {:.0f} features_s {:.2f} {} long_peak_rss_mib {:.0f} long_s {:.2f}\n",
               length, lc.features_mib, lc.features_s, plain_figures, lc.peak_mib, lc.step_s);
    std::fflush(stdout);
  }
  fmt::print("models_rss_mib {:.0f} (after loading target and draft, before the step)\n", models_mib);
  print_ratio("plain", plain_peak, std::nullopt);
  print_ratio("long", long_peak, kRatioLimit);
}

// ------------------------------------------------------ whole talon train runs

struct ProcessFigures {
  double peak_mib = 0, wall_s = 0;
};

// The high-water mark of process `pid`'s address space, MiB; 0 once it has
// gone (its memory freed).
double peak_rss_mib_of(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

// Runs `args` (output to `log`) and watches its VmHWM until it exits:
// wait4's ru_maxrss would include this process's own peak, which a spawned
// child inherits until it execs.
ProcessFigures run_watched(const std::vector<std::string>& args, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, args[0].c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) fail("posix_spawn {}: {}", args[0], std::strerror(spawned));
  ProcessFigures f;
  int status = 0;
  for (;;) {
    f.peak_mib = std::max(f.peak_mib, peak_rss_mib_of(pid));
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) fail("waitpid: {}", std::strerror(errno));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  f.wall_s = seconds_since(start);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("`{}` failed; its output is in {}", fmt::join(args, " "), log);
  return f;
}

// One conversation whose answer is `words` common English words, each one
// token of the Llama-3.1 tokenizer with its leading space: cut to L tokens by
// --max-length, it is L tokens of real text.
void write_long_conversation(const std::string& path, std::int64_t words) {
  static const char* const kWords[] = {"the", "of", "and", "to", "in", "is", "was", "for", "on", "that", "with",
                                       "as", "by", "at", "from", "it", "be", "this", "which", "or", "are", "his",
                                       "had", "not", "but", "were", "have", "they", "one", "their", "all", "been"};
  std::mt19937_64 random(0);
  std::string answer;
  for (std::int64_t i = 0; i < words; ++i) {
    if (i > 0) answer += ' ';
    answer += kWords[random() % std::size(kWords)];
  }
  nlohmann::json conversation = {
      {"conversations", {{{"role", "user"}, {"content", "Write a long text."}}, {{"role", "assistant"}, {"content", answer}}}}};
  std::ofstream(path) << conversation.dump() << "\n";
}

void run_train_processes(const Options& o) {
  if (o.train_lengths.empty()) return;
  TempDir work;
  const std::string talon = fs::absolute(o.talon).string();
  run_watched({talon, "init-target", "--config", o.target_config, "--tokenizer", o.tokenizer, "--output-dir",
               work.path + "/target", "--seed", "0"},
              work.path + "/init-target.log");
  const std::string data = work.path + "/long.jsonl";
  write_long_conversation(data, *std::max_element(o.train_lengths.begin(), o.train_lengths.end()) + 64);
  const char* threads = std::getenv("OMP_NUM_THREADS");
  fmt::print("talon train: {} (OMP_NUM_THREADS {}), --strategy {} --draft-model-config {} --attention-backend {}, "
             "one step of one sample, T = {}, {} runs per length\n",
             talon, threads ? threads : "unset: torch's default", o.strategy, o.draft_config, o.train_attention,
             o.ttt_length, o.train_repeats);
  std::fflush(stdout);
  for (std::int64_t length : o.train_lengths) {
    for (int run = 1; run <= o.train_repeats; ++run) {
      const std::string out = work.path + "/train";
      fs::remove_all(out);
      const ProcessFigures f = run_watched(
          {talon, "train", "--strategy", o.strategy, "--attention-backend", o.train_attention, "--target-model-path",
           work.path + "/target", "--draft-model-config", o.draft_config,
           "--train-data-path", data, "--chat-template", "llama3", "--max-length", std::to_string(length),
           "--output-dir", out, "--num-epochs", "1", "--max-steps", "1", "--ttt-length", std::to_string(o.ttt_length),
           "--seed", "0", "--quiet"},
          work.path + "/train.log");
      fmt::print("train_length {} run {} peak_rss_mib {:.0f} wall_s {:.1f}\n", length, run, f.peak_mib, f.wall_s);
      std::fflush(stdout);
    }
  }
}

std::vector<std::int64_t> parse_lengths(const std::string& list) {
  std::vector<std::int64_t> lengths;
  std::istringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    std::size_t used = 0;
    const std::int64_t length = std::stoll(item, &used);
    if (used != item.size() || length < 2) fail("lengths: expected integers >= 2, found \"{}\"", item);
    lengths.push_back(length);
  }
  return lengths;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) fail("{}: missing value", flag);
    const std::string value = argv[i + 1];
    if (flag == "--lengths") o.lengths = parse_lengths(value);
    else if (flag == "--max-plain-length") o.max_plain_length = std::stoll(value);
    else if (flag == "--ttt-length") o.ttt_length = std::stoi(value);
    else if (flag == "--threads") o.threads = std::stoi(value);
    else if (flag == "--target-config") o.target_config = value;
    else if (flag == "--draft-config") o.draft_config = value;
    else if (flag == "--train-lengths") o.train_lengths = parse_lengths(value);
    else if (flag == "--train-repeats") o.train_repeats = std::stoi(value);
    else if (flag == "--talon") o.talon = value;
    else if (flag == "--tokenizer") o.tokenizer = value;
    else if (flag == "--strategy") o.strategy = value;
    else if (flag == "--train-attention") o.train_attention = value;
    else fail("unknown flag {} (see the usage at the top of bench/long_context.cpp)", flag);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    // The child: --one plain|long L ttt_length threads target_dir draft_config
    if (argc == 8 && std::string(argv[1]) == "--one") {
      run_one_step(std::string(argv[2]) == "plain", std::stoll(argv[3]), std::stoi(argv[4]), std::stoi(argv[5]),
                   argv[6], argv[7]);
    } else {
      const Options options = parse_options(argc, argv);
      run_all(options);
      run_train_processes(options);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "long_context: {}\n", e.what());
    return 1;
  }
  return 0;
}
