// `talon eval` end to end on the tiny example: a draft trained for a few
// steps decodes held-out prompts losslessly with chain and tree drafting,
// one prompt at a time and in batches (every output equals the target's
// greedy one, which the command checks), and the figures it writes agree
// with each other: the acceptance length is 1 + the sum of the per-depth
// acceptance rates (a verification yields its accepted drafts plus one, and
// a draft at depth i is accepted only with its ancestors).
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace talon
