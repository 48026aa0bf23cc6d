// talon check-draft and the check training makes before each checkpoint is
// committed: a checkpoint written by `talon train` passes, and each way of
// breaking a copy of it that SGLang or vLLM would serve differently from
// what Talon trained is named, with its own message.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <functional>

#include <nlohmann/json.hpp>

#include "talon/io/hf_config.h"
#include "talon/io/safetensors.h"
#include "talon/model/eagle3/draft_check.h"
#include "talon/model/eagle3/draft_checkpoint.h"
#include "talon/model/eagle3/eagle3_draft.h"
#include "talon/train/checkpointer.h"
#include "talon/util/atomic_file.h"
#include "talon/util/json_file.h"
#include "train_fixture.h"

namespace talon {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::Fixture;
using testing::run_talon;

const std::string kTinyTarget = std::string(TALON_SOURCE_DIR) + "/examples/tiny-target-config.json";

// A copy of draft directory `from` at `to`, with its config.json and its
// tensors changed by the two edits (either may be empty).
void edited_copy(const std::string& from, const std::string& to, const std::function<void(json&)>& edit_config,
                 const std::function<void(io::NamedTensors&)>& edit_tensors) {
  fs::create_directories(to);
  json config = util::load_json_file(from + "/config.json");
  if (edit_config) edit_config(config);
  util::write_file_atomic(to + "/config.json", config.dump(2));
  io::SafetensorsFile file = io::SafetensorsFile::open(from + "/model.safetensors");
  io::NamedTensors tensors;
  for (const io::TensorInfo& info : file.tensors()) tensors.emplace_back(info.name, file.tensor(info.name).clone());
  if (edit_tensors) edit_tensors(tensors);
  io::write_safetensors(to + "/model.safetensors", tensors);
}

at::Tensor& tensor_named(io::NamedTensors& tensors, const std::string& name) {
  for (auto& [n, t] : tensors) {
    if (n == name) return t;
  }
  throw std::runtime_error("no tensor " + name);
}

// Each of `problems` contains one of `expected`, in order, and there are as
// many.
void expect_problems(const std::vector<std::string>& problems, const std::vector<std::string>& expected) {
  ASSERT_EQ(problems.size(), expected.size()) << fmt::format("{}", fmt::join(problems, "\n"));
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NE(problems[i].find(expected[i]), std::string::npos) << "\"" << expected[i] << "\" not in: " << problems[i];
  }
}

struct Edit {
  const char* what;
  std::function<void(json&)> config;
  std::function<void(io::NamedTensors&)> tensors;
  std::vector<std::string> problems;
};

TEST(CheckDraft, ATrainedCheckpointPassesAndEachBrokenCopyIsNamed) {
  Fixture f;
  const std::string out = f.tmp.file("out");
  auto train = run_talon(f.args(out, "--max-steps 1"));  // its checkpointer runs the check before committing
  ASSERT_EQ(train.status, 0) << train.out;
  const std::string checkpoint = testing::final_checkpoint(out);

  auto ok = run_talon("check-draft " + checkpoint + " --target-model-path " + f.target);
  EXPECT_EQ(ok.status, 0) << ok.out;
  EXPECT_EQ(ok.out.rfind("OK " + checkpoint + ": SGLang and vLLM load it as trained", 0), 0u) << ok.out;
  // The tiny target has 8 layers: the default aux layers, and its context.
  EXPECT_NE(ok.out.find("aux layers [1, 3, 4] in both conventions, context 131072 >= 131072"),
            std::string::npos)
      << ok.out;

  const io::TargetConfig target = io::load_target_config(f.target);
  const std::string st = "model.safetensors: ", cj = "config.json: ";
  const std::string against = "config.json against target " + f.target + ": ";
  const std::vector<Edit> edits = {
      {"a renamed tensor",
       {},
       [](io::NamedTensors& t) {
         for (auto& [name, value] : t) {
           if (name == "midlayer.mlp.up_proj.weight") name = "midlayer.foo.weight";
         }
       },
       {st + "tensor \"midlayer.foo.weight\" is not a tensor SGLang's LlamaForCausalLMEagle3 loads (it would skip "
             "it silently)",
        st + "tensor \"midlayer.mlp.up_proj.weight\" is missing: SGLang would serve it uninitialised"}},
      {"a saved embedding",
       {},
       [](io::NamedTensors& t) { t.emplace_back("embed_tokens.weight", at::zeros({128256, 64}, at::kBFloat16)); },
       {st + "tensor \"embed_tokens.weight\" is saved: the draft is trained with the target's embedding"}},
      {"a shape other than the config's",
       {},
       [](io::NamedTensors& t) { tensor_named(t, "norm.weight") = at::ones({32}, at::kBFloat16); },
       {st + "tensor \"norm.weight\" has shape [32], expected [64] from config.json"}},
      {"a dtype other than the config's",
       {},
       [](io::NamedTensors& t) { tensor_named(t, "fc.weight") = tensor_named(t, "fc.weight").to(at::kFloat); },
       {st + "tensor \"fc.weight\" is F32 but config.json's torch_dtype says BF16"}},
      {"integer weights",
       {},
       [](io::NamedTensors& t) { tensor_named(t, "norm.weight") = at::ones({64}, at::kInt); },
       {st + "tensor \"norm.weight\" is I32, expected F32, F16 or BF16"}},
      {"d2t in I32",
       {},
       [](io::NamedTensors& t) { tensor_named(t, "d2t") = tensor_named(t, "d2t").to(at::kInt); },
       {st + "tensor 'd2t' must be 1-d I64"}},
      {"d2t naming a target id outside the vocabulary",
       {},
       [](io::NamedTensors& t) { tensor_named(t, "d2t")[5] = 1000000; },
       {st + "d2t[5] = 1000000 maps to target id 1000005, which is not an ascending id marked in t2d"}},
      {"t2d marking an id d2t does not give",
       {},
       [](io::NamedTensors& t) {
         at::Tensor& t2d = tensor_named(t, "t2d");
         const std::int64_t unmarked = (t2d.logical_not()).nonzero()[0][0].item<std::int64_t>();
         t2d[unmarked] = true;
       },
       {st + "t2d marks 257 ids but d2t has 256"}},
      {"no draft_vocab_size",
       [](json& c) { c.erase("draft_vocab_size"); },
       {},
       {cj + "draft_vocab_size is absent: SGLang's LlamaForCausalLMEagle3 then serves the target's lm_head",
        st + "tensor \"lm_head.weight\" has shape [256, 64], expected [128256, 64] from config.json",
        st + "d2t has 256 entries, expected draft_vocab_size 128256 from config.json"}},
      {"no torch_dtype",
       [](json& c) { c.erase("torch_dtype"); },
       {},
       {cj + "torch_dtype is absent: SGLang's --dtype auto then serves the draft in float16"}},
      {"no architectures",
       [](json& c) { c.erase("architectures"); },
       {},
       {cj + "architectures is absent: SGLang and vLLM pick the draft's model class by it"}},
      {"a bias",
       [](json& c) { c["bias"] = true; },
       {},
       {cj + "field \"bias\": expected false (Talon computes EAGLE-3 without it), found true"}},
      {"a logit scale",
       [](json& c) { c["logit_scale"] = 0.5; },
       {},
       {cj + "field \"logit_scale\": expected 1 (Talon computes EAGLE-3 without it), found 0.5"}},
      {"aux ids that disagree between the conventions",
       [](json& c) {
         c["eagle_config"] = {{"eagle_aux_hidden_state_layer_ids", {1, 3, 5}}};
         c["eagle_aux_hidden_state_layer_ids"] = {2, 4, 5};
       },
       {},
       {cj + "field \"eagle_aux_hidden_state_layer_ids\": expected eagle_config.eagle_aux_hidden_state_layer_ids + 1 "
             "= [2, 4, 6] (vLLM's input-of-layer ids for SGLang's output-of-layer ones), found [2,4,5]"}},
      {"aux ids for SGLang only",
       [](json& c) { c["eagle_config"] = {{"eagle_aux_hidden_state_layer_ids", {0, 2, 5}}}; },
       {},
       {cj + "eagle_aux_hidden_state_layer_ids (top level) is absent: vLLM then serves its default aux layers [2, "
             "4, 5] (input of layer), not the [1, 3, 6] the draft was trained on"}},
      {"aux ids for vLLM only",
       [](json& c) { c["eagle_aux_hidden_state_layer_ids"] = {1, 3, 6}; },
       {},
       {cj + "eagle_config.eagle_aux_hidden_state_layer_ids is absent: SGLang then serves its default aux layers "
             "[1, 3, 4] (output of layer), not the [0, 2, 5] the draft was trained on"}},
      {"aux ids the target does not have",
       [](json& c) {
         c["eagle_config"] = {{"eagle_aux_hidden_state_layer_ids", {0, 2, 7}}};
         c["eagle_aux_hidden_state_layer_ids"] = {1, 3, 8};
       },
       {},
       {against + "aux layer ids [0, 2, 7] (from the draft config) for a target of 8 layers: expected 3 distinct ids in "
             "[0, 6]"}},
      {"a context shorter than the target's",
       [](json& c) { c["max_position_embeddings"] = 2048; },
       {},
       {cj + "context length 2048 (max_position_embeddings 2048 and rope_scaling, as SGLang derives it) is below "
             "the target's 131072: SGLang refuses to start the draft",
        cj + "max_position_embeddings 2048 is below the target's 131072: vLLM up to 0.24 reads past the draft's "
             "RoPE cache"}},
  };
  for (const Edit& edit : edits) {
    SCOPED_TRACE(edit.what);
    const std::string copy = f.tmp.file("broken");
    fs::remove_all(copy);
    edited_copy(checkpoint, copy, edit.config, edit.tensors);
    std::vector<std::string> expected;
    for (const std::string& p : edit.problems) expected.push_back(copy + "/" + p);
    expect_problems(model::check_draft_for_engines(copy, target, f.target).problems, expected);
  }

  // The target's side: a draft config that does not fit it.
  io::TargetConfig wider = target;
  wider.hidden_size = 128;
  expect_problems(model::check_draft_for_engines(checkpoint, wider, "T").problems,
                  {checkpoint + "/config.json against target T: hidden_size 64 but the target's is 128"});
  // SGLang's context of a target with linear RoPE scaling is its
  // max_position_embeddings times the factor (get_context_length).
  io::TargetConfig scaled = target;
  scaled.rope_scaling.emplace();
  scaled.rope_scaling->type = io::RopeType::Linear;
  scaled.rope_scaling->factor = 2.0;
  expect_problems(model::check_draft_for_engines(checkpoint, scaled, "T").problems,
                  {checkpoint + "/config.json: context length 131072 (max_position_embeddings 131072 and "
                                "rope_scaling, as SGLang derives it) is below the target's 262144"});

  // The command prints every problem, then fails.
  const std::string copy = f.tmp.file("renamed");
  edited_copy(checkpoint, copy, [](json& c) { c.erase("torch_dtype"); },
              [](io::NamedTensors& t) { t.emplace_back("midlayer.foo.weight", at::zeros({2}, at::kBFloat16)); });
  auto refused = run_talon("check-draft " + copy + " --target-model-path " + f.target);
  EXPECT_EQ(refused.status, 1) << refused.out;
  for (const std::string& part :
       {"problem: " + copy + "/config.json: torch_dtype is absent", "problem: " + copy +
                                                                        "/model.safetensors: tensor \"midlayer.foo."
                                                                        "weight\" is not a tensor",
        "talon: error: " + copy + ": 2 problems: SGLang or vLLM would not serve this draft as trained"}) {
    EXPECT_NE(refused.out.find(part), std::string::npos) << "\"" << part << "\" not in: " << refused.out;
  }
}

// A target whose RoPE scaling multiplies its context in SGLang's eyes:
// training raises the draft's max_position_embeddings to that context, and
// the checkpoint passes.
TEST(CheckDraft, TrainingRaisesTheContextToTheTargetsAsSGLangDerivesIt) {
  Fixture f;
  const json linear = {{"rope_type", "linear"},
                       {"factor", 2.0},
                       {"low_freq_factor", nullptr},
                       {"high_freq_factor", nullptr},
                       {"original_max_position_embeddings", nullptr}};
  f.target = f.make_target("scaled", {{"max_position_embeddings", 4096}, {"rope_scaling", linear}});
  const std::string out = f.tmp.file("out");
  auto train = run_talon(f.args(out, "--max-steps 1"));
  ASSERT_EQ(train.status, 0) << train.out;
  const std::string checkpoint = testing::final_checkpoint(out);
  EXPECT_EQ(util::load_json_file(checkpoint + "/config.json")["max_position_embeddings"], 8192);
  auto ok = run_talon("check-draft " + checkpoint + " --target-model-path " + f.target);
  EXPECT_EQ(ok.status, 0) << ok.out;
  EXPECT_NE(ok.out.find("context 8192 >= 8192"), std::string::npos) << ok.out;
}

// The checkpointer checks the draft before it commits the directory: one
// the engines would serve otherwise fails the save naming the problem as a
// Talon bug, and leaves no checkpoint behind.
// An EAGLE-3.1 draft (fc_norm) carries fc_norm.{0,1,2}.weight, which the
// engines load under those names; without them they would serve it
// uninitialised.
TEST(CheckDraft, Eagle31DraftsNeedTheirFcNorms) {
  testing::TempDir tmp;
  const io::TargetConfig target = io::load_target_config(kTinyTarget);
  io::DraftConfig config = io::load_draft_config(std::string(TALON_SOURCE_DIR) + "/examples/tiny-draft-config.json");
  config.max_position_embeddings = target.max_position_embeddings;
  config.fc_norm = config.norm_output = true;
  const model::Eagle3Draft draft =
      model::Eagle3Draft::create(config, at::Tensor(), at::make_generator<at::CPUGeneratorImpl>(1), at::kFloat);
  const model::DraftVocab vocab{at::zeros({config.draft_vocab_size}, at::kLong),
                                at::arange(config.vocab_size) < config.draft_vocab_size};
  const std::string good = tmp.file("good"), bad = tmp.file("bad");
  fs::create_directories(good);
  fs::create_directories(bad);
  model::save_draft_checkpoint(good, config, draft.parameters(), vocab);
  EXPECT_TRUE(model::check_draft_for_engines(good, target, "T").problems.empty());
  model::NamedTensors without;
  for (const auto& [name, value] : draft.parameters()) {
    if (name != "fc_norm.1.weight") without.emplace_back(name, value);
  }
  model::save_draft_checkpoint(bad, config, without, vocab);
  const model::DraftCheck check = model::check_draft_for_engines(bad, target, "T");
  ASSERT_EQ(check.problems.size(), 1u);
  EXPECT_NE(check.problems[0].find("\"fc_norm.1.weight\" is missing"), std::string::npos) << check.problems[0];
}

TEST(CheckDraft, TheCheckpointerChecksEachDraftBeforeCommittingIt) {
  testing::TempDir tmp;
  const io::TargetConfig target = io::load_target_config(kTinyTarget);
  io::DraftConfig config = io::load_draft_config(std::string(TALON_SOURCE_DIR) + "/examples/tiny-draft-config.json");
  const model::Eagle3Draft draft =
      model::Eagle3Draft::create(config, at::Tensor(), at::make_generator<at::CPUGeneratorImpl>(1), at::kFloat);
  // The first draft_vocab_size target ids.
  const model::DraftVocab vocab{at::zeros({config.draft_vocab_size}, at::kLong),
                                at::arange(config.vocab_size) < config.draft_vocab_size};
  const std::string out = tmp.file("out");
  fs::create_directories(out);
  train::Checkpointer checkpointer(
      out, 0, true, [&](const std::string& dir) { return model::check_draft_for_engines(dir, target, "T"); });
  auto save = [&](std::int64_t step) {
    return checkpointer.save(0, step, [&](const std::string& dir) {
      model::save_draft_checkpoint(dir, config, draft.parameters(), vocab);
    });
  };

  // The tiny draft config's 2048 positions, short of the target's 131072
  // (training raises them; a run that did not would be caught here).
  testing::expect_error([&] { save(1); },
                        {"checkpoint " + out + "/epoch_0_step_1 is not what SGLang and vLLM would serve as trained: ",
                         "config.json: max_position_embeddings 2048 is below the target's 131072",
                         "This is a Talon bug"});
  EXPECT_FALSE(fs::exists(out + "/epoch_0_step_1"));
  EXPECT_FALSE(fs::exists(out + "/latest"));
  EXPECT_FALSE(checkpointer.newest());

  config.max_position_embeddings = target.max_position_embeddings;
  EXPECT_EQ(save(2), out + "/epoch_0_step_2");
  EXPECT_TRUE(fs::exists(out + "/epoch_0_step_2/model.safetensors"));
  EXPECT_TRUE(model::check_draft_for_engines(out + "/epoch_0_step_2", target, "T").problems.empty());
}

}  // namespace
}  // namespace talon
