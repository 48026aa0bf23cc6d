// load_draft_checkpoint checks config.json against the weights before any
// draft is built: a size the weights contradict, or one past the limits,
// fails naming the field or the tensor instead of allocating it. It reads
// the layouts people publish (tests/data/drafts, written with torch and
// safetensors by scripts/goldens/make_draft_fixtures.py) to the tensors
// their writer saved.
#include "talon/model/eagle3/draft_checkpoint.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "talon/data/vocab_mapping.h"
#include "talon/io/hf_config.h"
#include "talon/io/safetensors.h"
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

const std::string kDrafts = std::string(TALON_TEST_DATA) + "/drafts/";

struct Published {
  const char* dir;
  at::ScalarType stored;    // the dtype its writer saved the draft tensors in
  const char* lm_head;      // the reference tensor its lm_head.weight must equal
  bool has_vocab_mapping;   // d2t/t2d, else the identity
};

TEST(DraftCheckpoint, PublishedLayoutsLoadTheTensorsTheirWriterSaved) {
  const io::SafetensorsFile reference = io::SafetensorsFile::open(kDrafts + "reference.safetensors");
  const TargetLmHead target{kDrafts + "target", at::kFloat};
  for (const Published& p : {Published{"eagle", at::kHalf, "lm_head.weight", true},
                             Published{"angelslim", at::kBFloat16, "lm_head.weight", true},
                             Published{"sharded", at::kBFloat16, "lm_head.weight", true},
                             Published{"full_vocab", at::kBFloat16, "lm_head_full.weight", false},
                             Published{"no_draft_vocab_size", at::kBFloat16, "target_lm_head.weight", false}}) {
    SCOPED_TRACE(p.dir);
    const DraftCheckpoint got = load_draft_checkpoint(kDrafts + p.dir, target);
    ASSERT_EQ(got.parameters.size(), 13u);
    const bool from_target = std::string(p.dir) == "no_draft_vocab_size";
    EXPECT_EQ(got.config.lm_head_from_target, from_target);
    for (const auto& [name, tensor] : got.parameters) {
      const bool head = name == "lm_head.weight";
      // The target's lm_head is read in the dtype asked for (fp32 here).
      const at::ScalarType dtype = head && from_target ? at::kFloat : p.stored;
      EXPECT_TRUE(at::equal(tensor, reference.tensor(head ? p.lm_head : name).to(dtype))) << name;
    }
    const data::VocabMapping mapping = data::VocabMapping::of_draft(
        got.d2t, got.t2d, got.config.draft_vocab_size, got.config.vocab_size, got.weights);
    const at::Tensor d2t = at::tensor(mapping.d2t);
    if (p.has_vocab_mapping) {
      EXPECT_TRUE(at::equal(d2t, reference.tensor("d2t")));
      EXPECT_TRUE(at::equal(at::tensor(mapping.t2d).to(at::kBool), reference.tensor("t2d")));
    } else {
      EXPECT_EQ(got.config.draft_vocab_size, 32);
      EXPECT_TRUE(at::equal(d2t, at::zeros({32}, at::kLong)));  // draft id i is target id i
      EXPECT_EQ(mapping.used.back(), 31);
    }
  }
  EXPECT_EQ(load_draft_checkpoint(kDrafts + "eagle").weights, kDrafts + "eagle/pytorch_model.bin");
  EXPECT_EQ(load_draft_checkpoint(kDrafts + "sharded").weights, kDrafts + "sharded/model.safetensors.index.json");
}

TEST(DraftCheckpoint, PublishedLayoutsFailNamingWhatIsMissing) {
  TempDir tmp;
  const std::string dir = tmp.file("draft");
  std::filesystem::create_directories(dir);
  util::write_file_atomic(dir + "/config.json", util::read_file(kDrafts + "eagle/config.json"));
  expect_error([&] { load_draft_checkpoint(dir); },
               {dir + ": no draft weights: expected model.safetensors, model.safetensors.index.json or "
                      "pytorch_model.bin"});
  util::write_file_atomic(dir + "/pytorch_model.bin", "not a zip archive");
  expect_error([&] { load_draft_checkpoint(dir); },
               {dir + "/pytorch_model.bin: cannot be read as the PyTorch zip archive torch.save writes"});

  const std::string no_size = kDrafts + "no_draft_vocab_size";
  expect_error([&] { load_draft_checkpoint(no_size); },
               {no_size + "/config.json: no draft_vocab_size, so the draft's lm_head is the target's (as SGLang "
                          "serves it); a target model is needed to read it"});

  // Without d2t/t2d only a full vocabulary maps: a smaller one is unknown.
  const DraftCheckpoint full = load_draft_checkpoint(kDrafts + "full_vocab");
  expect_error([&] { data::VocabMapping::of_draft(full.d2t, full.t2d, 16, 32, "w.safetensors"); },
               {"w.safetensors: no d2t/t2d, but draft_vocab_size 16 is below vocab_size 32: which target tokens "
                "the draft predicts is unknown"});
  const DraftCheckpoint eagle = load_draft_checkpoint(kDrafts + "eagle");
  expect_error([&] { data::VocabMapping::of_draft(eagle.d2t, at::Tensor(), 16, 32, "w.bin"); },
               {"w.bin: holds d2t but not t2d"});
  expect_error([&] { data::VocabMapping::of_draft(eagle.d2t, eagle.t2d, 16, 40, "w.bin"); },
               {"w.bin: t2d has 32 entries but the draft config's vocab_size is 40"});
}

}  // namespace
}  // namespace talon::model
