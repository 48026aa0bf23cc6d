// --verify-target-weights on each command that loads a target: a NaN that
// the default sampled check passes over (weight_check.h) stops the command,
// naming the tensor and the element.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "talon/io/safetensors.h"
#include "talon/util/atomic_file.h"
#include "train_fixture.h"

namespace talon {
namespace {

using testing::Fixture;
using testing::run_talon;

// Puts a NaN at [0, 1] of the embedding [128256, 64]: flat index 1, between
// the sampled elements 0 and 2004.
void poison_embedding(const std::string& target) {
  const std::string path = target + "/model.safetensors";
  io::NamedTensors tensors;
  {
    const io::SafetensorsFile file = io::SafetensorsFile::open(path);
    for (const io::TensorInfo& info : file.tensors()) tensors.emplace_back(info.name, file.tensor(info.name).clone());
  }
  for (auto& [name, tensor] : tensors) {
    if (name == "model.embed_tokens.weight") tensor[0][1] = NAN;
  }
  io::write_safetensors(path, tensors);
}

TEST(VerifyTargetWeights, EveryCommandThatLoadsATargetChecksEveryElement) {
  Fixture f(1);
  poison_embedding(f.target);
  const std::string error = f.target + ": tensor \"model.embed_tokens.weight\": expected finite weights, found nan at [0, 1]";
  // eval loads the target before the draft's weights, so without the flag
  // it gets as far as those (a draft of config.json alone): the target
  // passed the sampled check.
  const std::string draft = f.tmp.file("draft");
  std::filesystem::create_directories(draft);
  f.tmp.write("draft/config.json", util::read_file(f.draft_config));
  const std::string eval =
      fmt::format("eval --target-model-path {} --draft-model-path {} --data-path {}", f.target, draft, f.data);
  auto run = run_talon(eval);
  EXPECT_NE(run.status, 0);
  EXPECT_EQ(run.out.find(error), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(draft + ": no draft weights"), std::string::npos) << run.out;

  for (const std::string& command : {
           eval,
           f.args(f.tmp.file("train")),
           fmt::format("cache --target-model-path {} --draft-model-config {} --data-path {} --output-dir {} --quiet",
                       f.target, f.draft_config, f.data, f.tmp.file("cache")),
           fmt::format("regenerate --target-model-path {} --input-file-path {} --output-file-path {}", f.target,
                       f.data, f.tmp.file("regenerated.jsonl")),
       }) {
    run = run_talon(command + " --verify-target-weights");
    EXPECT_EQ(run.status, 1) << command;
    EXPECT_NE(run.out.find("talon: error: " + error), std::string::npos) << command << "\n" << run.out;
  }
}

}  // namespace
}  // namespace talon
