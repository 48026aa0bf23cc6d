// `talon init-target` end to end: a tiny Llama config (tests/data/configs/
// tiny-llama3.json) and the real Llama-3.1 tokenizer give a directory that
// TargetModel loads, with the initialization transformers uses, identical
// bytes for identical seeds, and a clear error when the vocabulary is too
// small for the tokenizer.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "talon/io/safetensors.h"
#include "talon/model/target_model.h"
#include "talon/util/atomic_file.h"
#include "test_support.h"

namespace talon {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::run_talon;
using testing::TempDir;

const std::string kTinyConfig = std::string(TALON_TEST_DATA) + "/configs/tiny-llama3.json";
const std::string& kTokenizer = testing::kLlamaTokenizerDir;

std::string init_args(const std::string& config, const std::string& out, const std::string& extra = "") {
  return "init-target --config " + config + " --tokenizer " + kTokenizer + " --output-dir " + out + " " + extra;
}

// The tiny config with some fields changed, written to `dir`.
std::string edited_config(const TempDir& dir, const std::string& name, const json& changes) {
  json config = json::parse(util::read_file(kTinyConfig));
  config.merge_patch(changes);
  return dir.write(name, config.dump(2));
}

TEST(InitTarget, WritesALoadableTarget) {
  TempDir tmp;
  std::string out = tmp.file("target");
  testing::CommandResult run = run_talon(init_args(kTinyConfig, out, "--seed 3"));
  ASSERT_EQ(run.status, 0) << run.out;
  EXPECT_NE(run.out.find("8 layers"), std::string::npos) << run.out;

  json config = json::parse(util::read_file(out + "/config.json"));
  EXPECT_EQ(config["torch_dtype"], "bfloat16");
  EXPECT_EQ(config["rope_scaling"]["rope_type"], "llama3");  // everything else copied as it was
  for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
    EXPECT_EQ(util::read_file(out + "/" + name), util::read_file(kTokenizer + "/" + name)) << name;
  }
  io::SafetensorsFile file = io::SafetensorsFile::open(out + "/model.safetensors");
  for (const io::TensorInfo& info : file.tensors()) EXPECT_EQ(info.dtype, io::DType::BF16) << info.name;
  EXPECT_EQ(file.tensors().size(), 2u + 8u * 9u + 1u);  // embed, 9 per layer, norm, lm_head

  model::TargetModel target = model::TargetModel::load(out, at::kCPU, at::kFloat);
  EXPECT_EQ(target.config().vocab_size, 128256);
  EXPECT_EQ(target.config().num_hidden_layers, 8);
  // transformers' _init_weights: N(0, initializer_range) matrices, unit norms.
  EXPECT_NEAR(target.embed_tokens().std().item<double>(), 0.02, 0.001);
  EXPECT_NEAR(target.lm_head().std().item<double>(), 0.02, 0.001);
  EXPECT_TRUE(at::equal(file.tensor("model.layers.7.post_attention_layernorm.weight").to(at::kFloat),
                        at::ones({64})));
  EXPECT_FALSE(at::equal(target.embed_tokens(), target.lm_head()));

  at::Tensor ids = at::tensor(std::vector<std::int64_t>{128000, 9906, 1917, 128009}, at::kLong).reshape({1, 4});
  model::TargetFeatures f = target.forward(ids, {1, 3, 4});
  EXPECT_EQ(f.aux.sizes(), at::IntArrayRef({1, 4, 3 * 64}));
  EXPECT_TRUE(at::isfinite(f.hidden).all().item<bool>());
}

TEST(InitTarget, SameSeedSameBytes) {
  TempDir tmp;
  for (const char* name : {"a", "b", "c"}) {
    std::string seed = name[0] == 'c' ? "8" : "7";
    testing::CommandResult run = run_talon(init_args(kTinyConfig, tmp.file(name), "--seed " + seed));
    ASSERT_EQ(run.status, 0) << run.out;
  }
  std::string a = util::read_file(tmp.file("a/model.safetensors"));
  EXPECT_EQ(a, util::read_file(tmp.file("b/model.safetensors")));
  EXPECT_NE(a, util::read_file(tmp.file("c/model.safetensors")));
  EXPECT_EQ(util::read_file(tmp.file("a/config.json")), util::read_file(tmp.file("b/config.json")));
}

// fp32 on disk, the config's initializer_range, and tied embeddings (no lm_head).
TEST(InitTarget, Fp32TiedWithInitializerRange) {
  TempDir tmp;
  std::string config = edited_config(tmp, "config.json", {{"initializer_range", 0.05}, {"tie_word_embeddings", true}});
  std::string out = tmp.file("target");
  testing::CommandResult run = run_talon(init_args(config, out, "--dtype fp32"));
  ASSERT_EQ(run.status, 0) << run.out;
  EXPECT_EQ(json::parse(util::read_file(out + "/config.json"))["torch_dtype"], "float32");
  io::SafetensorsFile file = io::SafetensorsFile::open(out + "/model.safetensors");
  EXPECT_EQ(file.find("lm_head.weight"), nullptr);
  EXPECT_EQ(file.find("model.embed_tokens.weight")->dtype, io::DType::F32);

  model::TargetModel target = model::TargetModel::load(out, at::kCPU, at::kFloat);
  EXPECT_NEAR(target.embed_tokens().std().item<double>(), 0.05, 0.002);
  EXPECT_TRUE(at::equal(target.embed_tokens(), target.lm_head()));
}

TEST(InitTarget, VocabularySmallerThanTheTokenizerIsAnError) {
  TempDir tmp;
  std::string config = edited_config(tmp, "config.json", {{"vocab_size", 1000}});
  std::string out = tmp.file("target");
  testing::CommandResult run = run_talon(init_args(config, out));
  EXPECT_EQ(run.status, 1) << run.out;
  for (const std::string& part : std::vector<std::string>{config, "vocab_size 1000", "128256", kTokenizer}) {
    EXPECT_NE(run.out.find(part), std::string::npos) << part << " not in: " << run.out;
  }
  EXPECT_FALSE(fs::exists(out));
}

TEST(InitTarget, InvalidConfigIsAnError) {
  TempDir tmp;
  std::string config = edited_config(tmp, "config.json", {{"hidden_size", nullptr}});
  testing::CommandResult run = run_talon(init_args(config, tmp.file("target")));
  EXPECT_EQ(run.status, 1) << run.out;
  EXPECT_NE(run.out.find("hidden_size"), std::string::npos) << run.out;
  EXPECT_FALSE(fs::exists(tmp.file("target")));

  run = run_talon(init_args(kTinyConfig, tmp.file("target"), "--dtype fp16"));
  EXPECT_NE(run.status, 0) << run.out;
}

// The output directory is replaced only when it holds an earlier
// init-target output and nothing else; anything else is named and kept.
TEST(InitTarget, ReplacesOnlyItsOwnEarlierOutput) {
  TempDir tmp;
  const std::string out = tmp.file("target");
  ASSERT_EQ(run_talon(init_args(kTinyConfig, out, "--seed 1")).status, 0);
  const std::string first = util::read_file(out + "/model.safetensors");
  testing::CommandResult again = run_talon(init_args(kTinyConfig, out, "--seed 2"));
  ASSERT_EQ(again.status, 0) << again.out;
  EXPECT_NE(util::read_file(out + "/model.safetensors"), first);

  const std::string second = util::read_file(out + "/model.safetensors");
  tmp.write("target/notes.txt", "mine");
  testing::CommandResult refused = run_talon(init_args(kTinyConfig, out, "--seed 3"));
  EXPECT_EQ(refused.status, 1) << refused.out;
  EXPECT_NE(refused.out.find("talon: error: " + out +
                             " holds an earlier Talon target model and files it did not write: notes.txt"),
            std::string::npos)
      << refused.out;
  EXPECT_EQ(util::read_file(out + "/notes.txt"), "mine");
  EXPECT_EQ(util::read_file(out + "/model.safetensors"), second);

  const std::string file = tmp.write("file", "mine");
  refused = run_talon(init_args(kTinyConfig, file));
  EXPECT_EQ(refused.status, 1) << refused.out;
  EXPECT_NE(refused.out.find("talon: error: " + file + " is a file, not a directory"), std::string::npos)
      << refused.out;
  EXPECT_EQ(util::read_file(file), "mine");
}

TEST(InitTarget, ANegativeSeedIsRefused) {
  testing::expect_flag_refused("init-target", "--seed", "-1", "[0, 18446744073709551615]");
}

}  // namespace
}  // namespace talon
