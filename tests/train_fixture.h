// What the `talon train` tests share: a tiny random Llama target with the
// real Llama-3.1 tokenizer, a draft config, the first bundled
// conversations, and readers of what a run leaves behind.
#pragma once

#include <ATen/ATen.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "talon/io/safetensors.h"
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

  // Another target: the tiny example config with `changes` applied.
  std::string make_target(const std::string& name, const nlohmann::json& changes) const {
    nlohmann::json config =
        nlohmann::json::parse(util::read_file(std::string(TALON_SOURCE_DIR) + "/examples/tiny-target-config.json"));
    config.merge_patch(changes);
    const std::string dir = tmp.file(name);
    auto init = run_talon(fmt::format("init-target --config {} --tokenizer {} --output-dir {} --seed 1",
                                      tmp.write(name + ".json", config.dump()), kLlamaTokenizerDir, dir));
    EXPECT_EQ(init.status, 0) << init.out;
    return dir;
  }

  // Another chat template for the target: its own, as a .jinja file (the
  // same text under another name, which a dataset's provenance tells apart).
  std::string other_template() const {
    const nlohmann::json config = nlohmann::json::parse(util::read_file(target + "/tokenizer_config.json"));
    return tmp.write("other.jinja", config.at("chat_template").get<std::string>());
  }

  std::string args(const std::string& out, const std::string& extra = "", const std::string& lr = "1e-3") const {
    return train_args("--train-data-path " + data, out, extra, lr);
  }
  // The same run from `source`: "--train-hidden-states-path DIR" trains offline.
  std::string train_args(const std::string& source, const std::string& out, const std::string& extra = "",
                         const std::string& lr = "1e-3") const {
    return fmt::format(
        "train --target-model-path {} --draft-model-config {} {} --chat-template llama3 "
        "--max-length 192 --output-dir {} --num-epochs {} --learning-rate {} --warmup-ratio 0.2 "
        "--ttt-length {} --seed 5 --draft-global-batch-size {} --draft-micro-batch-size {} "
        "--quiet {}",
        target, draft_config, source, out, epochs, lr, kTtt, global_batch, micro_batch, extra);
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

inline double relative(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-30); }

// The same per-step losses, gradient norms and final fp32 weights as `want`
// (fp32: max relative difference 1e-5), and the same token counts. A
// weight tensor's difference is ||a - b|| / ||b||: AdamW divides each
// element's gradient by its own running magnitude, so where an element's
// gradient is a near-cancelling sum the different order of the ranks'
// sums moves that element by up to ~3e-5 of the tensor's largest value,
// while the tensor as a whole stays within 1e-6.
inline void expect_same_training(const std::string& got_dir, const std::string& want_dir) {
  std::vector<nlohmann::json> got = train_records(got_dir), want = train_records(want_dir);
  ASSERT_EQ(got.size(), want.size());
  ASSERT_FALSE(want.empty());
  for (std::size_t k = 0; k < got.size(); ++k) {
    SCOPED_TRACE(::testing::Message() << "step " << k + 1);
    EXPECT_EQ(got[k]["step"], want[k]["step"]);
    EXPECT_EQ(got[k]["epoch"], want[k]["epoch"]);
    EXPECT_EQ(got[k]["tokens"], want[k]["tokens"]);
    EXPECT_LE(relative(got[k]["loss"], want[k]["loss"]), 1e-5);
    for (int s = 0; s < kTtt; ++s) EXPECT_LE(relative(got[k]["ploss"][s], want[k]["ploss"][s]), 1e-5) << "ttt step " << s;
    EXPECT_LE(relative(got[k]["grad_norm"], want[k]["grad_norm"]), 1e-5);
  }
  io::SafetensorsFile a = io::SafetensorsFile::open(final_checkpoint(got_dir) + "/training_state/tensors.safetensors");
  io::SafetensorsFile b = io::SafetensorsFile::open(final_checkpoint(want_dir) + "/training_state/tensors.safetensors");
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  int masters = 0;
  for (const io::TensorInfo& info : b.tensors()) {
    if (info.name.rfind("master.", 0) != 0) continue;
    ++masters;
    at::Tensor x = a.tensor(info.name).to(at::kDouble), y = b.tensor(info.name).to(at::kDouble);
    ASSERT_EQ(x.sizes(), y.sizes()) << info.name;
    EXPECT_LE((x - y).norm().item<double>() / y.norm().item<double>(), 1e-5)
        << info.name << ": largest element difference " << (x - y).abs().max().item<double>();
  }
  EXPECT_EQ(masters, 13);
  EXPECT_EQ(std::filesystem::path(final_checkpoint(got_dir)).filename(),
            std::filesystem::path(final_checkpoint(want_dir)).filename());
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
