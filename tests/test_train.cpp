// `talon train` end to end on a tiny random target (created with `talon
// init-target`) and the first bundled conversations: the metrics and
// checkpoint contracts, exact resume (stopped, and killed with SIGKILL at
// random moments), --init-draft, non-finite steps, and the checks made
// before any compute.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <algorithm>
#include <fstream>
#include <random>
#include <thread>

#include "talon/io/safetensors.h"
#include "talon/util/dir_lock.h"
#include "talon/util/output_manifest.h"
#include "train_fixture.h"

namespace talon {
namespace {

using nlohmann::json;
using testing::final_checkpoint;
using testing::first_conversations;
using testing::Fixture;
using testing::kTtt;
using testing::run_talon;
using testing::spawn_talon;
using testing::TempDir;
using testing::train_records;

void expect_same_run(const std::string& a, const std::string& b) {
  const std::string ca = final_checkpoint(a), cb = final_checkpoint(b);
  EXPECT_EQ(std::filesystem::path(ca).filename(), std::filesystem::path(cb).filename());
  EXPECT_TRUE(util::read_file(ca + "/model.safetensors") == util::read_file(cb + "/model.safetensors"));
  EXPECT_TRUE(util::read_file(ca + "/training_state/tensors.safetensors") ==
              util::read_file(cb + "/training_state/tensors.safetensors"));
  EXPECT_EQ(train_records(a), train_records(b));
}

TEST(Train, MetricsAndCheckpointFollowTheContract) {
  Fixture f;
  const std::string out = f.tmp.file("out");
  auto run = run_talon(f.args(out, "--save-interval 4 --eval-data-path " + f.data + " --eval-interval 5"));
  ASSERT_EQ(run.status, 0) << run.out;

  std::vector<json> lines = testing::read_jsonl(out + "/metrics.jsonl");
  std::vector<json> train, eval;
  for (const json& r : lines) (r.contains("split") ? eval : train).push_back(r);
  ASSERT_EQ(train.size(), 12u);  // 2 epochs x ceil(12 / 2)
  const int total = 12, warmup = static_cast<int>(0.2 * total);
  for (int k = 0; k < total; ++k) {
    const json& r = train[k];
    EXPECT_EQ(r["step"], k + 1);
    EXPECT_EQ(r["epoch"], k / 6);
    // Brief §2: linear warmup, then cosine to 0.
    double lr = k < warmup ? 1e-3 * (k + 1) / warmup
                           : 1e-3 * (1 + std::cos(M_PI * (k - warmup) / double(total - warmup))) / 2;
    EXPECT_NEAR(r["lr"].get<double>(), lr, 1e-12) << "step " << k + 1;
    ASSERT_EQ(r["ploss"].size(), static_cast<std::size_t>(kTtt));
    ASSERT_EQ(r["acc"].size(), static_cast<std::size_t>(kTtt));
    double weighted = 0;
    for (int s = 0; s < kTtt; ++s) weighted += std::pow(0.8, s) * r["ploss"][s].get<double>();
    EXPECT_NEAR(r["loss"].get<double>(), weighted, 1e-9);
    EXPECT_GT(r["grad_norm"].get<double>(), 0);
    EXPECT_GT(r["tokens"].get<int>(), 0);
    EXPECT_GT(r["tokens_per_s"].get<double>(), 0);
  }
  EXPECT_GT(train[0]["ploss"][0].get<double>(), 0);  // a tied-embedding target gives the draft something to learn
  ASSERT_EQ(eval.size(), 3u);  // steps 5, 10 and the end
  EXPECT_EQ(eval[0]["step"], 5);
  EXPECT_EQ(eval[2]["step"], 12);

  // Checkpoints at 4, 8, 12 (the end); latest names the last, relatively.
  EXPECT_EQ(util::read_file(out + "/latest"), "epoch_1_step_12\n");
  for (const char* name : {"epoch_0_step_4", "epoch_1_step_8", "epoch_1_step_12"}) {
    EXPECT_TRUE(std::filesystem::is_directory(out + "/" + name)) << name;
  }
  const std::string ckpt = out + "/epoch_1_step_12";
  json config = json::parse(util::read_file(ckpt + "/config.json"));
  EXPECT_EQ(config["architectures"], json::array({"LlamaForCausalLMEagle3"}));
  EXPECT_EQ(config["tie_word_embeddings"], false);
  EXPECT_EQ(config["draft_vocab_size"], 256);
  EXPECT_EQ(config["torch_dtype"], "bfloat16");
  // The draft config's 2048 raised to the target's context: SGLang refuses
  // a draft with a shorter one.
  EXPECT_EQ(json::parse(util::read_file(f.draft_config))["max_position_embeddings"], 2048);
  EXPECT_EQ(config["max_position_embeddings"],
            json::parse(util::read_file(f.target + "/config.json"))["max_position_embeddings"]);
  io::SafetensorsFile weights = io::SafetensorsFile::open(ckpt + "/model.safetensors");
  std::map<std::string, io::DType> dtypes;
  for (const auto& t : weights.tensors()) dtypes[t.name] = t.dtype;
  std::map<std::string, io::DType> expected = {{"d2t", io::DType::I64}, {"t2d", io::DType::BOOL}};
  for (const char* name : {"fc.weight", "midlayer.self_attn.q_proj.weight", "midlayer.self_attn.k_proj.weight",
                           "midlayer.self_attn.v_proj.weight", "midlayer.self_attn.o_proj.weight",
                           "midlayer.mlp.gate_proj.weight", "midlayer.mlp.up_proj.weight",
                           "midlayer.mlp.down_proj.weight", "midlayer.input_layernorm.weight",
                           "midlayer.hidden_norm.weight", "midlayer.post_attention_layernorm.weight", "norm.weight",
                           "lm_head.weight"}) {
    expected[name] = io::DType::BF16;
  }
  EXPECT_EQ(dtypes, expected);
  // d2t/t2d are the training set's vocab mapping.
  io::SafetensorsFile mapping = io::SafetensorsFile::open(out + "/prepared/train/vocab_mapping.safetensors");
  EXPECT_TRUE(weights.tensor("d2t").equal(mapping.tensor("d2t")));
  EXPECT_TRUE(weights.tensor("t2d").equal(mapping.tensor("t2d")));
  EXPECT_FALSE(std::filesystem::is_empty(out + "/tensorboard"));
}

TEST(Train, StopAndResumeIsBitIdentical) {
  Fixture f;
  const std::string straight = f.tmp.file("straight"), split = f.tmp.file("split");
  auto a = run_talon(f.args(straight));
  ASSERT_EQ(a.status, 0) << a.out;
  auto b1 = run_talon(f.args(split, "--max-steps 5"));  // stops inside an accumulation-free boundary of epoch 0
  ASSERT_EQ(b1.status, 0) << b1.out;
  EXPECT_EQ(util::read_file(split + "/latest"), "epoch_0_step_5\n");
  auto b2 = run_talon(f.args(split, "--resume"));
  ASSERT_EQ(b2.status, 0) << b2.out;
  EXPECT_NE(b2.out.find("resumed from"), std::string::npos) << b2.out;
  expect_same_run(straight, split);
}

// The default run (blockwise attention, head and loss in chunks of 50
// positions, recomputed draft layer) against the plain path of brief §2.
TEST(Train, LongContextPathsMatchThePlainPath) {
  Fixture f;
  const std::string fast = f.tmp.file("long"), plain = f.tmp.file("plain");
  auto a = run_talon(f.args(fast, "--max-steps 3 --head-chunk-size 50"));
  ASSERT_EQ(a.status, 0) << a.out;
  auto b = run_talon(f.args(plain, "--max-steps 3 --attention-backend naive --head-chunk-size 0 --no-recompute"));
  ASSERT_EQ(b.status, 0) << b.out;
  std::vector<json> got = train_records(fast), want = train_records(plain);
  ASSERT_EQ(got.size(), 3u);
  ASSERT_EQ(want.size(), 3u);
  for (std::size_t k = 0; k < got.size(); ++k) {
    for (int s = 0; s < kTtt; ++s) {
      const double x = got[k]["ploss"][s].get<double>(), y = want[k]["ploss"][s].get<double>();
      EXPECT_LE(std::abs(x - y), 1e-5 * std::abs(y)) << "step " << k + 1 << " ttt step " << s;
      EXPECT_EQ(got[k]["acc"][s], want[k]["acc"][s]) << "step " << k + 1 << " ttt step " << s;
    }
    EXPECT_NEAR(got[k]["grad_norm"].get<double>(), want[k]["grad_norm"].get<double>(),
                1e-5 * want[k]["grad_norm"].get<double>());
  }
}

TEST(Train, SigkillAtRandomMomentsThenResumeIsBitIdentical) {
  Fixture f;
  const std::string straight = f.tmp.file("straight"), killed = f.tmp.file("killed");
  const auto started = std::chrono::steady_clock::now();
  auto a = run_talon(f.args(straight));
  ASSERT_EQ(a.status, 0) << a.out;
  const double straight_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();

  std::mt19937 rng(2024);
  // Delays scale with the straight run's time T, so they mean the same on a
  // fast machine and a loaded one: the first ones (under 0.45 T, and the
  // killed runs save every step, so they are slower) always kill; the longer
  // ones let a resumed run, which has less left to do, finish in the end.
  std::uniform_int_distribution<int> short_delay_ms(static_cast<int>(0.15 * straight_ms),
                                                    static_cast<int>(0.45 * straight_ms));
  std::uniform_int_distribution<int> long_delay_ms(static_cast<int>(0.15 * straight_ms),
                                                   static_cast<int>(1.5 * straight_ms));
  int kills = 0, finished = 0;
  for (int attempt = 0; attempt < 60 && !finished; ++attempt) {
    pid_t pid = spawn_talon(f.args(killed, "--resume --save-interval 1 --keep-last 2"), f.tmp.file("log.txt"));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(attempt < 5 ? short_delay_ms(rng) : long_delay_ms(rng));
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << util::read_file(f.tmp.file("log.txt"));
        finished = 1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!finished) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ++kills;
    }
  }
  ASSERT_TRUE(finished) << "training never finished between kills";
  EXPECT_GE(kills, 2);
  expect_same_run(straight, killed);
  std::vector<json> records = train_records(killed);  // every step once, in order
  for (std::size_t i = 0; i < records.size(); ++i) EXPECT_EQ(records[i]["step"], i + 1);
  std::vector<std::string> left;  // --keep-last 2, and no temporaries of the killed runs
  for (const auto& entry : std::filesystem::directory_iterator(killed)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("epoch_", 0) == 0) left.push_back(name);
  }
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"epoch_1_step_11", "epoch_1_step_12"}));
}

TEST(Train, AFreshRunDoesNotMixWithAnEarlierOne) {
  Fixture f;
  const std::string out = f.tmp.file("out");
  ASSERT_EQ(run_talon(f.args(out, "--max-steps 2")).status, 0);
  auto again = run_talon(f.args(out, "--max-steps 3"));
  EXPECT_EQ(again.status, 1) << again.out;
  EXPECT_NE(again.out.find("already holds checkpoints of an earlier run: pass --resume"), std::string::npos)
      << again.out;
  // A resume that finds nothing left to do returns the last checkpoint as it is.
  auto done = run_talon(f.args(out, "--max-steps 2 --resume"));
  EXPECT_EQ(done.status, 0) << done.out;
  EXPECT_NE(done.out.find("checkpoint: " + out + "/epoch_0_step_2"), std::string::npos) << done.out;
  std::size_t checkpoints = 0;
  for (const auto& entry : std::filesystem::directory_iterator(out)) {
    checkpoints += entry.path().filename().string().rfind("epoch_", 0) == 0;
  }
  EXPECT_EQ(checkpoints, 1u);
}

// Checksums: --resume verifies the newest checkpoint against its manifest,
// names a damaged file and falls back to the checkpoint before it, whose
// resumed run saves an intact one in the damaged one's place; with every
// checkpoint damaged it refuses, naming the files.
TEST(Train, ResumeFallsBackFromADamagedCheckpoint) {
  Fixture f;
  const std::string straight = f.tmp.file("straight"), out = f.tmp.file("out");
  ASSERT_EQ(run_talon(f.args(straight, "--max-steps 4")).status, 0);
  ASSERT_EQ(run_talon(f.args(out, "--max-steps 4 --save-interval 2")).status, 0);  // epoch_0_step_2 and _4
  const std::string tensors = out + "/epoch_0_step_4/training_state/tensors.safetensors";
  std::string bytes = util::read_file(tensors);
  bytes[bytes.size() - 3] ^= 0x01;  // one bit of the last AdamW tensor
  util::write_file_atomic(tensors, bytes);
  const std::string config = out + "/epoch_0_step_2/config.json";
  const std::string intact_config = util::read_file(config);
  util::write_file_atomic(config, intact_config.substr(0, 10));

  auto refused = run_talon(f.args(out, "--resume"));
  EXPECT_EQ(refused.status, 1) << refused.out;
  EXPECT_NE(refused.out.find("talon: error: every checkpoint in " + out + " is damaged (" + tensors +
                             ": checksum differs from .talon-output.json; " + config +
                             ": 10 bytes where .talon-output.json lists " + std::to_string(intact_config.size())),
            std::string::npos)
      << refused.out;

  util::write_file_atomic(config, intact_config);
  auto resumed = run_talon(f.args(out, "--max-steps 4 --resume"));
  ASSERT_EQ(resumed.status, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("warning: checkpoint " + out + "/epoch_0_step_4 is damaged: " + tensors +
                             ": checksum differs from .talon-output.json; trying the one before it"),
            std::string::npos)
      << resumed.out;
  EXPECT_NE(resumed.out.find("resumed from " + out + "/epoch_0_step_2 (step 2)"), std::string::npos) << resumed.out;
  expect_same_run(straight, out);
  EXPECT_EQ(util::damaged_files(out + "/epoch_0_step_4"), std::vector<std::string>{});
}

// A checkpoint of a Talon from before the manifests resumes, with a warning.
TEST(Train, ACheckpointWithoutManifestResumesUnverified) {
  Fixture f;
  const std::string out = f.tmp.file("out");
  ASSERT_EQ(run_talon(f.args(out, "--max-steps 1")).status, 0);
  std::filesystem::remove(out + "/epoch_0_step_1/.talon-output.json");
  auto resumed = run_talon(f.args(out, "--max-steps 2 --resume"));
  ASSERT_EQ(resumed.status, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("warning: " + out + "/epoch_0_step_1 has no .talon-output.json (an earlier Talon wrote "
                                                 "it): resuming from it unverified"),
            std::string::npos)
      << resumed.out;
  EXPECT_NE(resumed.out.find("resumed from " + out + "/epoch_0_step_1 (step 1)"), std::string::npos) << resumed.out;
}

// The output directory is locked for the run's lifetime: a second run on it
// fails at once, naming the holder, and writes nothing.
TEST(Train, ASecondRunOnTheSameOutputDirFailsAtOnce) {
  Fixture f;
  const std::string out = f.tmp.file("out");
  util::DirLock first_run(out);  // this process stands for a run in progress
  auto second = run_talon(f.args(out));
  EXPECT_EQ(second.status, 1) << second.out;
  EXPECT_NE(second.out.find("talon: error: " + out + " is in use by another talon process (pid " +
                            std::to_string(::getpid()) + ")"),
            std::string::npos)
      << second.out;
  std::vector<std::string> left;
  for (const auto& entry : std::filesystem::directory_iterator(out)) left.push_back(entry.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{".talon.lock"});
}

// A Qwen3 target (q/k norms, its own tokenizer and chat template) trains too.
TEST(Train, QwenTargetTrains) {
  TempDir tmp;
  json target = {{"architectures", {"Qwen3ForCausalLM"}}, {"model_type", "qwen3"}, {"hidden_size", 64},
                 {"intermediate_size", 128}, {"num_hidden_layers", 8}, {"num_attention_heads", 4},
                 {"num_key_value_heads", 2}, {"head_dim", 32}, {"vocab_size", 151936},
                 {"max_position_embeddings", 4096}, {"rms_norm_eps", 1e-6}, {"rope_theta", 1000000.0},
                 {"tie_word_embeddings", true}, {"torch_dtype", "bfloat16"}};
  auto init = run_talon(fmt::format("init-target --config {} --tokenizer {} --output-dir {} --seed 1",
                                    tmp.write("qwen.json", target.dump()), testing::kQwenTokenizerDir,
                                    tmp.file("target")));
  ASSERT_EQ(init.status, 0) << init.out;
  json draft = json::parse(util::read_file(std::string(TALON_SOURCE_DIR) + "/examples/tiny-draft-config.json"));
  draft["vocab_size"] = 151936;
  draft["draft_vocab_size"] = 256;
  const std::string out = tmp.file("out");
  auto run = run_talon(fmt::format(
      "train --target-model-path {} --draft-model-config {} --train-data-path {} --chat-template qwen3 "
      "--max-length 256 --output-dir {} --num-epochs 1 --ttt-length 3 --draft-global-batch-size 2 "
      "--draft-micro-batch-size 2 --quiet",
      tmp.file("target"), tmp.write("draft.json", draft.dump()), tmp.write("train.jsonl", first_conversations(8)), out));
  ASSERT_EQ(run.status, 0) << run.out;
  std::vector<json> records = train_records(out);
  ASSERT_EQ(records.size(), 4u);
  for (const json& r : records) EXPECT_TRUE(std::isfinite(r["loss"].get<double>()));
  json config = json::parse(util::read_file(final_checkpoint(out) + "/config.json"));
  EXPECT_EQ(config["vocab_size"], 151936);
}

TEST(Train, InitDraftStartsFromTheCheckpointWeights) {
  Fixture f;
  const std::string first = f.tmp.file("first"), second = f.tmp.file("second");
  ASSERT_EQ(run_talon(f.args(first, "--max-steps 2")).status, 0);
  // Learning rate 0: one step leaves the loaded weights as they were.
  auto run = run_talon(f.args(second, "--max-steps 1 --init-draft " + final_checkpoint(first), "0"));
  ASSERT_EQ(run.status, 0) << run.out;
  EXPECT_TRUE(util::read_file(final_checkpoint(first) + "/model.safetensors") ==
              util::read_file(final_checkpoint(second) + "/model.safetensors"));
}

TEST(Train, NonFiniteStepsAreSkippedThenStop) {
  Fixture f;
  auto run = run_talon(f.args(f.tmp.file("out"), "--max-grad-norm 1e30 --max-bad-steps 2", "1e30"));
  EXPECT_EQ(run.status, 1) << run.out;
  EXPECT_NE(run.out.find("skipped: non-finite"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("2 steps in a row had a non-finite loss or gradient"), std::string::npos) << run.out;
}

TEST(Train, MismatchesAreRefusedBeforeAnyCompute) {
  Fixture f;
  json draft = json::parse(util::read_file(f.draft_config));
  auto refuse = [&](json changed, const std::string& extra, const std::vector<std::string>& parts) {
    std::string config = f.tmp.write("bad.json", changed.dump());
    std::string args = f.args(f.tmp.file("bad"), extra);
    args.replace(args.find(f.draft_config), f.draft_config.size(), config);
    auto run = run_talon(args);
    EXPECT_EQ(run.status, 1) << run.out;
    for (const auto& part : parts) EXPECT_NE(run.out.find(part), std::string::npos) << part << " in " << run.out;
    EXPECT_FALSE(std::filesystem::exists(f.tmp.file("bad/metrics.jsonl"))) << "training started: " << run.out;
  };
  json wrong_hidden = draft;
  wrong_hidden["hidden_size"] = 32;
  refuse(wrong_hidden, "", {"hidden_size 32", "target's is 64"});
  json wrong_vocab = draft;
  wrong_vocab["vocab_size"] = 1000;
  refuse(wrong_vocab, "", {"vocab_size 1000", "128256"});
  refuse(draft, "--draft-vocab-size 100", {"--draft-vocab-size 100", "draft_vocab_size 256"});

  // A dataset prepared with another template and length is refused by name.
  const std::string prepared = f.tmp.file("prepared");
  auto prep = run_talon(fmt::format("prepare --train-data-path {} --output-dir {} --target-model-path {} "
                                    "--chat-template {} --max-length 64 --draft-vocab-size 256 --quiet",
                                    f.data, prepared, f.target, f.other_template()));
  ASSERT_EQ(prep.status, 0) << prep.out;
  std::string args = f.args(f.tmp.file("bad2"));
  args.replace(args.find("--train-data-path " + f.data), 18 + f.data.size(), "--train-data-path " + prepared);
  auto run = run_talon(args);
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.out.find("chat template is " + f.other_template() + " but this run uses llama3"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("max_length is 64 but this run uses 192"), std::string::npos) << run.out;
}

// --eval-acceptance-interval logs, every N steps and at the end, what
// `talon eval` reports for the checkpoint saved at that step with the same
// prompts and settings: an independent path (the CLI reads the saved BF16
// checkpoint from disk; the trainer rounds its own weights in memory).
TEST(Train, AcceptanceDuringTrainingIsWhatTalonEvalReportsForTheCheckpoint) {
  Fixture f(4);
  f.epochs = 3;  // 6 steps: measured at step 4 and at the end
  // Trained on the target's own greedy replies, the draft accepts some
  // drafts on the random target (acceptance 1 would make equality weak).
  const std::string regenerated = f.tmp.file("regenerated.jsonl");
  auto regen = run_talon(fmt::format("regenerate --input-file-path {} --output-file-path {} --target-model-path {} "
                                     "--max-new-tokens 24 --temperature 0",
                                     f.data, regenerated, f.target));
  ASSERT_EQ(regen.status, 0) << regen.out;
  const std::string out = f.tmp.file("out");
  const std::string prompts = f.tmp.write("prompts.jsonl", first_conversations(4));
  std::string args = f.args(out, "--save-interval 4 --eval-acceptance-interval 4 --eval-acceptance-prompts " +
                                     prompts + " --eval-acceptance-max-new-tokens 16 --eval-acceptance-num-steps 3",
                            "1e-2");
  args.replace(args.find("--train-data-path " + f.data), 18 + f.data.size(), "--train-data-path " + regenerated);
  auto run = run_talon(args);
  ASSERT_EQ(run.status, 0) << run.out;
  std::vector<json> logged;
  for (const json& r : testing::read_jsonl(out + "/metrics.jsonl")) {
    if (r.value("split", "") == "acceptance") logged.push_back(r);
  }
  ASSERT_EQ(logged.size(), 2u);
  // TensorBoard gets the same figures (tests/test_tensorboard.cpp reads the
  // format back; here, that the tags are there).
  std::string events;
  for (const auto& entry : std::filesystem::directory_iterator(out + "/tensorboard")) {
    events += util::read_file(entry.path().string());
  }
  for (const char* tag : {"acceptance/length", "acceptance/rate_depth_1", "acceptance/rate_depth_3"}) {
    EXPECT_NE(events.find(tag), std::string::npos) << tag;
  }
  for (std::size_t k = 0; k < logged.size(); ++k) {
    const json& r = logged[k];
    SCOPED_TRACE(r.dump());
    const int step = k == 0 ? 4 : 6;
    EXPECT_EQ(r["step"], step);
    EXPECT_EQ(r["prompts"], 4);
    EXPECT_EQ(r["lossless_mismatches"], 0);
    EXPECT_GT(r["acceptance_length"].get<double>(), 1.0);
    ASSERT_EQ(r["acceptance_rate_per_position"].size(), 3u);
    const std::string report = f.tmp.file(fmt::format("eval_{}.json", step));
    auto eval = run_talon(fmt::format(
        "eval --target-model-path {} --draft-model-path {}/epoch_{}_step_{} --data-path {} --chat-template llama3 "
        "--max-new-tokens 16 --speculative-num-steps 3 --output {}",
        f.target, out, r["epoch"].get<int>(), step, prompts, report));
    ASSERT_EQ(eval.status, 0) << eval.out;
    const json want = json::parse(util::read_file(report));
    for (const char* key : {"prompts", "generated_tokens", "verifications", "acceptance_length",
                            "acceptance_rate_per_position"}) {
      EXPECT_EQ(r[key], want[key]) << key;
    }
  }
}

// Acceptance during training is refused by name where it cannot run.
TEST(Train, AcceptanceFlagsAreRefusedByNameWhereTheyCannotRun) {
  Fixture f(2);
  const std::string prompts = f.tmp.write("prompts.jsonl", first_conversations(1));
  auto refuse = [&](const std::string& args, const std::vector<std::string>& parts) {
    auto run = run_talon(args);
    EXPECT_EQ(run.status, 1) << run.out;
    for (const auto& part : parts) EXPECT_NE(run.out.find(part), std::string::npos) << part << " in " << run.out;
  };
  refuse(f.args(f.tmp.file("a"), "--eval-acceptance-interval 2"),
         {"--eval-acceptance-interval 2 needs --eval-acceptance-prompts"});
  refuse(f.args(f.tmp.file("b"), "--eval-acceptance-prompts " + prompts),
         {"--eval-acceptance-prompts needs --eval-acceptance-interval"});
  refuse(f.train_args("--train-hidden-states-path " + f.target, f.tmp.file("c"),
                      "--eval-acceptance-interval 1 --eval-acceptance-prompts " + prompts),
         {"--eval-acceptance-interval", "--train-hidden-states-path"});
  // Multi-rank runs are refused for now (the ranks hold the target's and the
  // draft's shards; rank 0 alone cannot decode).
  refuse("launch --nproc-per-node 2 -- " +
             f.args(f.tmp.file("f"), "--eval-acceptance-interval 1 --eval-acceptance-prompts " + prompts),
         {"--eval-acceptance-interval: not in a multi-rank run yet (world size 2)"});
  // A prompt that does not fit the target's positions with its new tokens
  // is refused naming file:line and the flag, before training starts.
  refuse(f.args(f.tmp.file("d"), "--eval-acceptance-interval 1 --eval-acceptance-prompts " + prompts +
                                     " --eval-acceptance-max-new-tokens 131000"),
         {prompts + ":1", "--eval-acceptance-max-new-tokens 131000"});
  refuse(f.args(f.tmp.file("e"), "--eval-acceptance-interval 1 --eval-acceptance-prompts " + prompts +
                                     " --eval-acceptance-max-new-tokens 200000"),
         {"--eval-acceptance-max-new-tokens 200000 leaves no room"});
  for (const char* dir : {"a", "b", "c", "d", "e", "f"}) {
    EXPECT_FALSE(std::filesystem::exists(f.tmp.file(std::string(dir) + "/metrics.jsonl"))) << dir;
  }
}

// Every numeric flag has a range, checked before anything runs; these were
// accepted before: a negative norm (gradient ascent), --max-steps 0 (the
// whole schedule ran), a negative seed (stored as 2^64-1), ...
TEST(Train, FlagsOutOfTheirRangeAreRefusedByName) {
  for (const auto& [flag, value, range] : std::vector<std::array<std::string, 3>>{
           {"--max-grad-norm", "-1", "[0, inf)"},
           {"--max-grad-norm", "nan", "[0, inf)"},
           {"--max-steps", "0", "[1, inf)"},
           {"--max-steps", "-3", "[1, inf)"},
           {"--save-interval", "-1", "[0, inf)"},
           {"--keep-last", "-1", "[0, inf)"},
           {"--eval-interval", "-5", "[0, inf)"},
           {"--eval-acceptance-interval", "-1", "[0, inf)"},
           {"--eval-acceptance-num-prompts", "-1", "[0, inf)"},
           {"--eval-acceptance-max-new-tokens", "0", "[1, inf)"},
           {"--eval-acceptance-num-steps", "0", "[1, inf)"},
           {"--max-bad-steps", "0", "[1, inf)"},
           {"--seed", "-1", "[0, 18446744073709551615]"},
           {"--seed", "18446744073709551616", "[0, 18446744073709551615]"},
           {"--learning-rate", "-1e-4", "[0, inf)"},
           {"--warmup-ratio", "1.5", "[0, 1]"},
       }) {
    testing::expect_flag_refused("train", flag, value, range);
  }
}

// --max-grad-norm 0 means no clipping (Hugging Face Trainer's meaning): the
// same weights as a norm no gradient reaches; it used to zero every gradient,
// so the weights never moved.
TEST(Train, MaxGradNormZeroTurnsClippingOff) {
  Fixture f(4);
  const std::string off = f.tmp.file("off"), huge = f.tmp.file("huge");
  ASSERT_EQ(run_talon(f.args(off, "--max-steps 2 --max-grad-norm 0")).status, 0);
  ASSERT_EQ(run_talon(f.args(huge, "--max-steps 2 --max-grad-norm 1e30")).status, 0);
  EXPECT_TRUE(util::read_file(final_checkpoint(off) + "/model.safetensors") ==
              util::read_file(final_checkpoint(huge) + "/model.safetensors"));
  for (const json& r : train_records(off)) EXPECT_GT(r["grad_norm"].get<double>(), 0);
}

// Samples longer than the target's max_position_embeddings are refused,
// naming --max-length, before any step; within it the run trains.
TEST(Train, SamplesMustFitTheTargetsPositions) {
  Fixture f(4);
  f.epochs = 1;
  std::string args = f.args(f.tmp.file("long"), "--max-steps 1");
  const std::string short_target = f.make_target("short", {{"max_position_embeddings", 100}});
  args.replace(args.find(f.target), f.target.size(), short_target);
  auto run = run_talon(args);
  EXPECT_EQ(run.status, 1) << run.out;
  EXPECT_NE(run.out.find("tokens, more than the max_position_embeddings 100 of the target " + short_target +
                         ": lower --max-length (now 192) to at most 100"),
            std::string::npos)
      << run.out;
  EXPECT_FALSE(std::filesystem::exists(f.tmp.file("long/metrics.jsonl"))) << run.out;
  args.replace(args.find("--max-length 192"), 16, "--max-length 100");
  args.replace(args.find(f.tmp.file("long")), f.tmp.file("long").size(), f.tmp.file("fits"));
  run = run_talon(args);
  EXPECT_EQ(run.status, 0) << run.out;
}

}  // namespace
}  // namespace talon
