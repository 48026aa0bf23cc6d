// `talon eval` end to end on the tiny example: a draft trained for a few
// steps decodes held-out prompts losslessly with chain and tree drafting,
// one prompt at a time and in batches (every output equals the target's
// greedy one, which the command checks), and the figures it writes agree
// with each other: the acceptance length is 1 + the sum of the per-depth
// acceptance rates (a verification yields its accepted drafts plus one, and
// a draft at depth i is accepted only with its ancestors).
#include <gtest/gtest.h>

#include <torch/csrc/jit/serialization/pickle.h>

#include <map>

#include "talon/data/vocab_mapping.h"
#include "talon/io/safetensors_model.h"
#include "talon/model/eagle3/draft_checkpoint.h"
#include "train_fixture.h"

namespace talon {
namespace {

using nlohmann::json;
using testing::Fixture;
using testing::run_talon;

TEST(Eval, TrainedDraftDecodesLosslesslyAndReportsConsistentFigures) {
  Fixture f(6);
  f.epochs = 1;
  const std::string out = f.tmp.file("train");
  auto trained = run_talon(f.args(out));
  ASSERT_EQ(trained.status, 0) << trained.out;
  const std::string prompts = f.tmp.write("prompts.jsonl", testing::first_conversations(3));
  for (const std::string& drafting :
       {std::string("--speculative-num-steps 3"), std::string("--speculative-num-steps 3 --speculative-eagle-topk 2 "
                                                              "--speculative-num-draft-tokens 5 --batch-size 2")}) {
    const std::string report = f.tmp.file("eval.json");
    auto run =
        run_talon(fmt::format("eval --target-model-path {} --draft-model-path {} --data-path {} "
                              "--max-new-tokens 12 {} --output {}",
                              f.target, testing::final_checkpoint(out), prompts, drafting, report));
    ASSERT_EQ(run.status, 0) << run.out;
    EXPECT_NE(run.out.find("lossless                yes"), std::string::npos) << run.out;
    const json r = json::parse(util::read_file(report));
    EXPECT_EQ(r["prompts"], 3);
    EXPECT_EQ(r["lossless_mismatches"], 0);
    EXPECT_LE(r["generated_tokens"].get<int>(), 36);
    EXPECT_GT(r["generated_tokens"].get<int>(), 0);
    ASSERT_EQ(r["acceptance_rate_per_position"].size(), 3u);
    double sum = 0;
    for (double rate : r["acceptance_rate_per_position"]) sum += rate;
    EXPECT_NEAR(r["acceptance_length"].get<double>(), 1 + sum, 1e-12) << drafting;
    EXPECT_GT(r["greedy_tokens_per_s"].get<double>(), 0);
  }
}

TEST(Eval, ATreeNeedsItsDraftTokenCount) {
  Fixture f(1);
  const std::string prompts = f.tmp.write("prompts.jsonl", testing::first_conversations(1));
  const std::string common = fmt::format(
      "eval --target-model-path {0} --draft-model-path {0} --data-path {1} "
      "--speculative-num-steps 2 --speculative-eagle-topk 2",
      f.target, prompts);
  auto run = run_talon(common);
  EXPECT_NE(run.status, 0);
  EXPECT_NE(run.out.find("--speculative-num-draft-tokens is needed with --speculative-eagle-topk 2"), std::string::npos)
      << run.out;
  run = run_talon(common + " --speculative-num-draft-tokens 8");
  EXPECT_NE(run.status, 0);
  EXPECT_NE(run.out.find("--speculative-num-draft-tokens 8 must be in [2, 7]"), std::string::npos) << run.out;
}

TEST(Eval, APromptWithoutAUserTurnIsNamed) {
  Fixture f(1);
  const std::string out = f.tmp.file("train");
  f.epochs = 1;
  auto trained = run_talon(f.args(out, "--max-steps 1"));
  ASSERT_EQ(trained.status, 0) << trained.out;
  const std::string no_user = R"({"messages": [{"role": "system", "content": "x"}]})";
  const std::string prompts = f.tmp.write("prompts.jsonl", testing::first_conversations(1) + no_user + "\n");
  auto run = run_talon(fmt::format("eval --target-model-path {} --draft-model-path {} --data-path {}", f.target,
                                   testing::final_checkpoint(out), prompts));
  EXPECT_NE(run.status, 0);
  EXPECT_NE(run.out.find(prompts + ":2: the conversation has no user turn"), std::string::npos) << run.out;
}

// A directory holding `tensors` as shards listed by model.safetensors.index.json.
std::string write_sharded(const std::string& dir, const json& config, const io::NamedTensors& tensors) {
  std::filesystem::create_directories(dir);
  util::write_file_atomic(dir + "/config.json", config.dump());
  json index = {{"metadata", json::object()}, {"weight_map", json::object()}};
  io::NamedTensors shards[2];
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const std::string shard = fmt::format("model-0000{}-of-00002.safetensors", i % 2 + 1);
    shards[i % 2].push_back(tensors[i]);
    index["weight_map"][tensors[i].first] = shard;
  }
  for (int s = 0; s < 2; ++s) {
    io::write_safetensors(fmt::format("{}/model-0000{}-of-00002.safetensors", dir, s + 1), shards[s]);
  }
  util::write_file_atomic(dir + "/model.safetensors.index.json", index.dump());
  return dir;
}

// The drafts people publish, made here from a trained checkpoint's weights,
// load to those weights and decode losslessly: AngelSlim's class in shards
// (and --init-draft starts from it); a full-vocabulary draft without
// d2t/t2d (the identity); one without draft_vocab_size, whose lm_head is
// the target's (SGLang's rule); the EAGLE authors' class with a
// pytorch_model.bin. test_draft_checkpoint reads one torch.save wrote.
TEST(Eval, PublishedDraftLayoutsLoadTheirWeightsAndDecodeLosslessly) {
  Fixture f(1);
  f.epochs = 1;
  const std::string out = f.tmp.file("train");
  auto trained = run_talon(f.args(out, "--max-steps 1"));
  ASSERT_EQ(trained.status, 0) << trained.out;
  const std::string checkpoint = testing::final_checkpoint(out);
  const json config = json::parse(util::read_file(checkpoint + "/config.json"));
  io::NamedTensors tensors;
  {
    const io::SafetensorsFile file = io::SafetensorsFile::open(checkpoint + "/model.safetensors");
    for (const io::TensorInfo& info : file.tensors()) tensors.emplace_back(info.name, file.tensor(info.name).clone());
  }
  const std::string prompts = f.tmp.write("prompts.jsonl", testing::first_conversations(2));
  // `draft` loads to `want` (BF16, as written; the target's lm_head read in
  // BF16, its dtype), its d2t is `d2t`, and eval decodes losslessly with it.
  auto check = [&](const std::string& draft, const io::NamedTensors& want, const at::Tensor& d2t) {
    SCOPED_TRACE(draft);
    const model::DraftCheckpoint got =
        model::load_draft_checkpoint(draft, model::TargetLmHead{f.target, at::kBFloat16});
    const std::map<std::string, at::Tensor> by_name(want.begin(), want.end());
    ASSERT_EQ(got.parameters.size(), 13u);
    for (const auto& [name, tensor] : got.parameters) EXPECT_TRUE(at::equal(tensor, by_name.at(name))) << name;
    const data::VocabMapping mapping = data::VocabMapping::of_draft(
        got.d2t, got.t2d, got.config.draft_vocab_size, got.config.vocab_size, got.weights);
    EXPECT_TRUE(at::equal(at::tensor(mapping.d2t), d2t));
    auto run = run_talon(fmt::format("eval --target-model-path {} --draft-model-path {} --data-path {} "
                                     "--max-new-tokens 8 --speculative-num-steps 2",
                                     f.target, draft, prompts));
    EXPECT_EQ(run.status, 0) << run.out;
    EXPECT_NE(run.out.find("lossless                yes"), std::string::npos) << run.out;
  };

  json angelslim = config;
  angelslim["architectures"] = {"Eagle3LlamaForCausalLM"};
  const std::string sharded = write_sharded(f.tmp.file("angelslim"), angelslim, tensors);
  const std::map<std::string, at::Tensor> saved(tensors.begin(), tensors.end());
  check(sharded, tensors, saved.at("d2t"));
  // The EAGLE authors' class with a pytorch_model.bin, here written by
  // libtorch's pickle_save, which torch.load reads as torch.save's format.
  const std::string eagle = f.tmp.file("eagle");
  std::filesystem::create_directories(eagle);
  json eagle_config = config;
  eagle_config["architectures"] = {"LlamaForCausalLM"};
  util::write_file_atomic(eagle + "/config.json", eagle_config.dump());
  c10::Dict<std::string, at::Tensor> state;
  for (const auto& [name, tensor] : tensors) state.insert(name, tensor);
  const std::vector<char> bin = torch::jit::pickle_save(state);
  util::write_file_atomic(eagle + "/pytorch_model.bin", std::string(bin.begin(), bin.end()));
  check(eagle, tensors, saved.at("d2t"));
  auto initialised = run_talon(f.args(f.tmp.file("second"), "--max-steps 1 --init-draft " + sharded));
  EXPECT_EQ(initialised.status, 0) << initialised.out;

  // The target's lm_head (tied: its embedding) as a full-vocabulary draft's.
  const at::Tensor target_head = io::SafetensorsModel::open(f.target).tensor("model.embed_tokens.weight");
  const std::int64_t vocab = target_head.size(0);
  io::NamedTensors full;
  for (const auto& [name, tensor] : tensors) {
    if (name != "d2t" && name != "t2d" && name != "lm_head.weight") full.emplace_back(name, tensor);
  }
  full.emplace_back("lm_head.weight", target_head);
  json full_config = config;
  full_config["draft_vocab_size"] = vocab;
  const at::Tensor identity = at::zeros({vocab}, at::kLong);
  check(write_sharded(f.tmp.file("full_vocab"), full_config, full), full, identity);
  // Without draft_vocab_size, SGLang ignores a draft's lm_head.weight for the target's.
  json no_size = config;
  no_size.erase("draft_vocab_size");
  io::NamedTensors own_head = full;
  own_head.back().second = at::zeros({4, target_head.size(1)}, at::kBFloat16);
  check(write_sharded(f.tmp.file("no_draft_vocab_size"), no_size, own_head), full, identity);
}

// --init-draft's config.json must compute what --draft-model-config does:
// each difference is listed, before any weights load.
TEST(Eval, InitDraftWhoseConfigComputesOtherwiseIsRefused) {
  Fixture f(1);
  json init = json::parse(util::read_file(f.draft_config));
  init["rope_theta"] = 500000.0;
  init["rms_norm_eps"] = 1e-6;
  const std::string dir = f.tmp.file("init");
  std::filesystem::create_directories(dir);
  util::write_file_atomic(dir + "/config.json", init.dump());
  auto run = run_talon(f.args(f.tmp.file("out"), "--init-draft " + dir));
  EXPECT_EQ(run.status, 1) << run.out;
  EXPECT_NE(run.out.find(fmt::format("talon: error: --init-draft {}/config.json against --draft-model-config {}: the "
                                     "configs differ in what the draft computes: rms_norm_eps: --init-draft 1e-06, "
                                     "--draft-model-config 1e-05; rope_theta: --init-draft 500000, "
                                     "--draft-model-config 10000",
                                     dir, f.draft_config)),
            std::string::npos)
      << run.out;
}

// A checkpoint's manifest is checked wherever its draft is loaded: a
// flipped bit of its weights, which loads as a slightly different draft, is
// named by eval and by train --init-draft instead of being used.
TEST(Eval, ADamagedDraftCheckpointIsRefusedByEvalAndInitDraft) {
  Fixture f(1);
  f.epochs = 1;
  const std::string out = f.tmp.file("train");
  auto trained = run_talon(f.args(out, "--max-steps 1"));
  ASSERT_EQ(trained.status, 0) << trained.out;
  const std::string checkpoint = testing::final_checkpoint(out), weights = checkpoint + "/model.safetensors";
  std::string bytes = util::read_file(weights);
  bytes[bytes.size() / 2] ^= 0x01;  // one bit of a weight, which would load without complaint
  util::write_file_atomic(weights, bytes);
  const std::string expected = "talon: error: draft checkpoint " + checkpoint + " is damaged: " + weights +
                               ": checksum differs from .talon-output.json: restore it from a copy";
  auto evaluated = run_talon(fmt::format("eval --target-model-path {} --draft-model-path {} --data-path {}",
                                         f.target, checkpoint,
                                         f.tmp.write("prompts.jsonl", testing::first_conversations(1))));
  EXPECT_EQ(evaluated.status, 1) << evaluated.out;
  EXPECT_NE(evaluated.out.find(expected), std::string::npos) << evaluated.out;
  auto initialised = run_talon(f.args(f.tmp.file("second"), "--max-steps 1 --init-draft " + checkpoint));
  EXPECT_EQ(initialised.status, 1) << initialised.out;
  EXPECT_NE(initialised.out.find(expected), std::string::npos) << initialised.out;
}

TEST(Eval, FlagsOutOfTheirRangeAreRefusedByName) {
  for (const auto& [flag, value, range] : std::vector<std::array<std::string, 3>>{
           {"--max-new-tokens", "0", "[1, inf)"},
           {"--num-prompts", "-1", "[0, inf)"},
           {"--speculative-num-steps", "0", "[1, inf)"},
           {"--speculative-eagle-topk", "0", "[1, inf)"},
           {"--speculative-num-draft-tokens", "1", "[2, inf)"},
           {"--batch-size", "0", "[1, inf)"},
       }) {
    testing::expect_flag_refused("eval", flag, value, range);
  }
}

// A draft trained for a narrower target used to die in libtorch with a shape
// error and a backtrace; now `talon train`'s checks refuse it by name.
TEST(Eval, ADraftOfAnotherTargetIsRefusedByName) {
  Fixture f(2);
  const std::string narrow = f.make_target("narrow", {{"hidden_size", 32}});
  json draft = json::parse(util::read_file(f.draft_config));
  draft["hidden_size"] = 32;
  const std::string out = f.tmp.file("train");
  std::string args = f.args(out, "--max-steps 1");
  args.replace(args.find(f.target), f.target.size(), narrow);
  args.replace(args.find(f.draft_config), f.draft_config.size(), f.tmp.write("narrow_draft.json", draft.dump()));
  auto trained = run_talon(args);
  ASSERT_EQ(trained.status, 0) << trained.out;
  const std::string checkpoint = testing::final_checkpoint(out);
  auto run = run_talon(fmt::format("eval --target-model-path {} --draft-model-path {} --data-path {}", f.target,
                                   checkpoint, f.data));
  EXPECT_EQ(run.status, 1) << run.out;
  EXPECT_NE(run.out.find(fmt::format("talon: error: draft {}/config.json against target {}: hidden_size 32 but the "
                                     "target's is 64",
                                     checkpoint, f.target)),
            std::string::npos)
      << run.out;
}

// A prompt and --max-new-tokens must fit the target's max_position_embeddings:
// exactly at the limit runs, one more is refused naming the line.
TEST(Eval, PromptAndGenerationMustFitTheTargetsPositions) {
  Fixture f(2);
  const std::string out = f.tmp.file("train");
  auto trained = run_talon(f.args(out, "--max-steps 1"));
  ASSERT_EQ(trained.status, 0) << trained.out;
  const std::string short_target = f.make_target("short", {{"max_position_embeddings", 160}});
  const std::string prompts = f.tmp.write("prompts.jsonl", R"({"messages": [{"role": "user", "content": "Hi"}]})"
                                                           "\n");
  auto eval = [&](int max_new_tokens) {
    return run_talon(fmt::format("eval --target-model-path {} --draft-model-path {} --data-path {} --max-new-tokens {}",
                                 short_target, testing::final_checkpoint(out), prompts, max_new_tokens));
  };
  auto all = eval(160);
  EXPECT_EQ(all.status, 1) << all.out;
  EXPECT_NE(all.out.find("--max-new-tokens 160 leaves no room for a prompt: the target's max_position_embeddings is 160"),
            std::string::npos)
      << all.out;
  auto over = eval(159);
  EXPECT_EQ(over.status, 1) << over.out;
  const std::string head = prompts + ":1: the prompt's ";
  const std::size_t at = over.out.find(head);
  ASSERT_NE(at, std::string::npos) << over.out;
  const int prompt_tokens = std::stoi(over.out.substr(at + head.size()));
  ASSERT_LT(prompt_tokens, 150);
  EXPECT_NE(over.out.find(fmt::format("the prompt's {} tokens and --max-new-tokens 159 need {} positions, more than "
                                      "the target's max_position_embeddings 160",
                                      prompt_tokens, prompt_tokens + 159)),
            std::string::npos)
      << over.out;
  EXPECT_EQ(eval(161 - prompt_tokens).status, 1);
  auto fits = eval(160 - prompt_tokens);
  EXPECT_EQ(fits.status, 0) << fits.out;
}

}  // namespace
}  // namespace talon
