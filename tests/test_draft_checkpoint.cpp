// load_draft_checkpoint checks config.json against the weights before any
// draft is built: a size the weights contradict, or one past the limits,
// fails naming the field or the tensor instead of allocating it.
#include "talon/model/draft_checkpoint.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "talon/io/hf_config.h"
#include "talon/util/atomic_file.h"
#include "test_support.h"

namespace talon::model {
namespace {

using nlohmann::json;
using talon::testing::expect_error;
using talon::testing::TempDir;

io::DraftConfig tiny_config() {
  io::DraftConfig c;
  c.hidden_size = 8;
  c.intermediate_size = 16;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.head_dim = 4;
  c.vocab_size = 32;
  c.draft_vocab_size = 16;
  c.target_hidden_size = 8;
  return c;
}

// A checkpoint of tiny_config() whose config.json then gets `field` = `value`.
std::string write_checkpoint(const TempDir& tmp, const std::string& field, const json& value) {
  const io::DraftConfig config = tiny_config();
  const Eagle3Draft draft = Eagle3Draft::create(config, at::zeros({config.vocab_size, config.hidden_size}),
                                                at::make_generator<at::CPUGeneratorImpl>(0), at::kFloat);
  const std::string dir = tmp.file("draft");
  std::filesystem::create_directories(dir);
  save_draft_checkpoint(dir, config, draft.parameters(),
                        {at::zeros({config.draft_vocab_size}, at::kLong), at::zeros({config.vocab_size}, at::kBool)});
  json j = io::to_json(config);
  j[field] = value;
  util::write_file_atomic(dir + "/config.json", j.dump());
  return dir;
}

TEST(DraftCheckpoint, ConfigSizesAreCheckedBeforeAnyDraftIsBuilt) {
  TempDir tmp;
  std::string dir = write_checkpoint(tmp, "intermediate_size", 16);
  EXPECT_EQ(load_draft_checkpoint(dir).parameters.size(), 13u);
  // 2^40 ended as "you tried to allocate 281474976710656 bytes" in eval.
  dir = write_checkpoint(tmp, "intermediate_size", std::int64_t(1) << 40);
  expect_error([&] { load_draft_checkpoint(dir); },
               {dir + "/config.json: field \"intermediate_size\": expected at most 262144, found 1099511627776"});
  // Within the limits, the weights decide.
  dir = write_checkpoint(tmp, "intermediate_size", 200000);
  expect_error([&] { load_draft_checkpoint(dir); },
               {dir + "/model.safetensors: tensor midlayer.mlp.gate_proj.weight has shape 16x8, expected 200000x8 "
                      "from the draft config"});
  dir = write_checkpoint(tmp, "draft_vocab_size", 30);
  expect_error([&] { load_draft_checkpoint(dir); },
               {dir + "/model.safetensors: tensor lm_head.weight has shape 16x8, expected 30x8 from the draft config"});
}

}  // namespace
}  // namespace talon::model
