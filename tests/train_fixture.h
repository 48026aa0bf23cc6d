// What the `talon train` tests share: a tiny random Llama target with the
// real Llama-3.1 tokenizer, a draft config, the first bundled
// conversations, and readers of what a run leaves behind.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "talon/util/atomic_file.h"
#include "test_support.h"

namespace talon::testing {

constexpr int kTtt = 3;

// The first n bundled conversations, as JSONL.
inline std::string first_conversations(int n) {
  std::ifstream in(std::string(TALON_SOURCE_DIR) + "/examples/conversations.jsonl");
  std::string lines, line;
  for (int i = 0; i < n && std::getline(in, line); ++i) lines += line + "\n";
  return lines;
}

struct Fixture {
  TempDir tmp;
  std::string target, draft_config, data;
  // The batch shape of args(); by default 12 samples in 6 steps per epoch.
  int epochs = 2, global_batch = 2, micro_batch = 1;

  explicit Fixture(int conversations = 12) {
    target = tmp.file("target");
    auto init = run_talon(fmt::format("init-target --config {}/examples/tiny-target-config.json --tokenizer {} "
                                      "--output-dir {} --seed 3",
                                      TALON_SOURCE_DIR, kLlamaTokenizerDir, target));
    EXPECT_EQ(init.status, 0) << init.out;
    nlohmann::json draft =
        nlohmann::json::parse(util::read_file(std::string(TALON_SOURCE_DIR) + "/examples/tiny-draft-config.json"));
    draft["draft_vocab_size"] = 256;
    draft_config = tmp.write("draft.json", draft.dump());
    data = tmp.write("train.jsonl", first_conversations(conversations));
  }

  std::string args(const std::string& out, const std::string& extra = "", const std::string& lr = "1e-3") const {
    return fmt::format(
        "train --target-model-path {} --draft-model-config {} --train-data-path {} --chat-template llama3 "
        "--max-length 192 --output-dir {} --num-epochs {} --learning-rate {} --warmup-ratio 0.2 "
        "--ttt-length {} --seed 5 --draft-global-batch-size {} --draft-micro-batch-size {} "
        "--quiet {}",
        target, draft_config, data, out, epochs, lr, kTtt, global_batch, micro_batch, extra);
  }
};

inline std::string final_checkpoint(const std::string& out) {
  std::string name = util::read_file(out + "/latest");
  while (!name.empty() && name.back() == '\n') name.pop_back();
  return out + "/" + name;
}

// Training records without the wall-clock figure.
inline std::vector<nlohmann::json> train_records(const std::string& out) {
  std::vector<nlohmann::json> records;
  for (nlohmann::json r : read_jsonl(out + "/metrics.jsonl")) {
    if (r.contains("split")) continue;
    r.erase("tokens_per_s");
    records.push_back(r);
  }
  return records;
}

// Starts `env talon args` in the background (env: VAR=value ..., may be
// empty); its output goes to `log`.
inline pid_t spawn_talon(const std::string& args, const std::string& log, const std::string& env = "") {
  const std::string command = "exec env " + env + " " + std::string(TALON_BINARY) + " " + args + " >>" + log + " 2>&1";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

}  // namespace talon::testing
