// Speculative decoding (eval/speculative.h) is lossless: on the tiny
// example's target architecture with random weights (drawn wide enough that
// the output depends on the whole context), its output is token for token
// the target's own greedy output, for every number of draft steps, with a
// random EAGLE-3 draft (almost never accepted) and with an oracle that makes
// every verification accept a chosen number of drafts. The features handed
// to the proposer are the whole-sequence forward's, and the draft's own
// steps are rolled back exactly.
#include "talon/eval/speculative.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <set>

#include "talon/io/safetensors.h"
#include "talon/model/target_weights.h"
#include "test_support.h"

namespace talon::eval {
namespace {

using testing::TempDir;

struct Models {
  TempDir tmp;
  model::TargetModel target;
  io::DraftConfig draft_config;
  std::array<int, 3> aux;

  Models() : target(load_target(tmp)) {
    draft_config = io::load_draft_config(std::string(TALON_SOURCE_DIR) + "/examples/tiny-draft-config.json");
    aux = io::aux_layer_ids(draft_config, static_cast<int>(target.config().num_hidden_layers));
  }
  static model::TargetModel load_target(const TempDir& tmp) {
    const std::string config = std::string(TALON_SOURCE_DIR) + "/examples/tiny-target-config.json";
    const std::string dir = tmp.file("target");
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(config, dir + "/config.json");
    // Weights of std 0.3, not the config's 0.02: with small weights each
    // layer barely changes the residual stream, the next token depends on
    // the current one alone, and a decoder that lost its context would pass.
    io::write_safetensors(dir + "/model.safetensors",
                          model::random_target_weights(io::load_target_config(config), 0.3, 3, at::kFloat));
    return model::TargetModel::load(dir, at::kCPU, at::kFloat);
  }
  model::Eagle3Draft draft(std::uint64_t seed) const {
    return model::Eagle3Draft::create(draft_config, target.embed_tokens(), at::detail::createCPUGenerator(seed),
                                      at::TensorOptions().dtype(at::kFloat));
  }
};

std::vector<std::int64_t> prompt(std::int64_t n, std::int64_t seed) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  at::Tensor ids = at::randint(1000, {n}, g, at::kLong);
  return {ids.data_ptr<std::int64_t>(), ids.data_ptr<std::int64_t>() + n};
}

TEST(Speculative, RandomDraftReproducesGreedyDecoding) {
  Models m;
  const GenerationLimits limits{40, {}};
  const at::Tensor d2t = at::zeros({m.draft_config.draft_vocab_size}, at::kLong);
  for (std::int64_t seed : {1, 2}) {
    const std::vector<std::int64_t> p = prompt(9, seed), want = greedy_generate(m.target, p, limits);
    ASSERT_EQ(want.size(), 40u);
    const model::Eagle3Draft draft = m.draft(seed);
    for (std::int64_t steps : {1, 3, 5}) {
      Eagle3Proposer proposer(draft, d2t);
      const SpeculativeResult got = speculative_generate(m.target, proposer, m.aux, p, steps, limits);
      EXPECT_EQ(got.tokens, want) << "seed " << seed << ", " << steps << " draft steps";
      EXPECT_EQ(got.accepted.size(), static_cast<std::size_t>(steps));
    }
  }
}

// Proposes the target's own greedy continuation, wrong at draft i in round
// r when r mod (k + 1) == i (never when it is k), so verifications accept
// every count 0..k of drafts; checks the features it is shown against the
// whole-sequence forward.
class OracleProposer : public Proposer {
 public:
  OracleProposer(const model::TargetModel& target, std::vector<std::int64_t> sequence, std::int64_t prompt_length,
                 std::array<int, 3> aux, std::int64_t k)
      : sequence_(std::move(sequence)), prompt_length_(prompt_length), k_(k) {
    whole_ = target.forward(at::tensor(sequence_, at::kLong).unsqueeze(0), aux).aux[0];
  }
  void observe(std::int64_t first, const at::Tensor& aux, const std::vector<std::int64_t>& next) override {
    const auto n = static_cast<std::int64_t>(next.size());
    // fp32 rounding relative to the activations' scale (about 100 with these weights).
    const double diff = (aux[0] - whole_.narrow(0, first, n)).abs().max().item<double>();
    EXPECT_LE(diff, 1e-5 * whole_.abs().max().item<double>()) << "positions from " << first;
    for (std::int64_t i = 0; i < n; ++i) EXPECT_EQ(next[static_cast<std::size_t>(i)], sequence_[first + i + 1]);
    known_ = first + n;  // s_0..s_known are settled
  }
  std::vector<std::int64_t> propose(std::int64_t k) override {
    std::vector<std::int64_t> drafts;
    for (std::int64_t i = 0; i < k; ++i) {
      const auto at = static_cast<std::size_t>(std::min<std::int64_t>(known_ + 1 + i, sequence_.size() - 1));
      drafts.push_back(round_ % (k_ + 1) == i ? sequence_[at] + 1 : sequence_[at]);
    }
    ++round_;
    return drafts;
  }

 private:
  std::vector<std::int64_t> sequence_;  // prompt + the greedy continuation
  std::int64_t prompt_length_, k_, known_ = 0, round_ = 0;
  at::Tensor whole_;  // [L, 3H]
};

TEST(Speculative, EveryAcceptedCountKeepsTheOutputGreedy) {
  Models m;
  const std::vector<std::int64_t> p = prompt(7, 5);
  const GenerationLimits limits{48, {}};
  const std::vector<std::int64_t> want = greedy_generate(m.target, p, limits);
  std::vector<std::int64_t> sequence = p;
  sequence.insert(sequence.end(), want.begin(), want.end());
  for (std::int64_t steps : {1, 3, 4}) {
    OracleProposer oracle(m.target, sequence, static_cast<std::int64_t>(p.size()), m.aux, steps);
    const SpeculativeResult got = speculative_generate(m.target, oracle, m.aux, p, steps, limits);
    EXPECT_EQ(got.tokens, want) << steps << " draft steps";
    std::set<std::int64_t> lengths(got.accept_lengths.begin(), got.accept_lengths.end());
    for (std::int64_t length = 1; length <= steps + 1; ++length) EXPECT_TRUE(lengths.count(length)) << length;
  }
}

// Rolling the draft's own steps back: a cache shown the verified history in
// two parts, with draft steps in between that keep() drops, gives the
// states of one shown it at once; and so does the proposer built on it.
TEST(Speculative, DraftStepsAreRolledBack) {
  Models m;
  const std::vector<std::int64_t> sequence = prompt(14, 3);
  const at::Tensor aux = m.target.forward(at::tensor(sequence, at::kLong).unsqueeze(0), m.aux).aux.narrow(1, 0, 13);
  const std::vector<std::int64_t> next(sequence.begin() + 1, sequence.end());  // after positions 0..12
  const model::Eagle3Draft draft = m.draft(4);
  const at::Tensor hidden = at::linear(aux, draft.fc);
  const at::Tensor ids = at::tensor(next, at::kLong).unsqueeze(0);
  auto causal = [](std::int64_t n) { return at::ones({n, n}, at::kBool).tril(); };

  model::KvCache parts, once;
  model::DraftStep step = model::draft_extend(draft, hidden.narrow(1, 0, 9), ids.narrow(1, 0, 9), at::arange(9),
                                              causal(9), parts);
  for (std::int64_t j = 1; j <= 3; ++j) {
    step = model::draft_extend(draft, step.hidden.narrow(1, -1, 1), ids.narrow(1, 0, 1), at::arange(8 + j, 9 + j),
                               causal(1), parts);
  }
  parts.keep(at::arange(9));
  const model::DraftStep rest = model::draft_extend(draft, hidden.narrow(1, 9, 4), ids.narrow(1, 9, 4),
                                                    at::arange(9, 13), causal(4), parts);
  const model::DraftStep all = model::draft_extend(draft, hidden, ids, at::arange(13), causal(13), once);
  EXPECT_TRUE(at::allclose(rest.hidden, all.hidden.narrow(1, 9, 4), 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(rest.logits, all.logits.narrow(1, 9, 4), 1e-5, 1e-5));

  const at::Tensor d2t = at::arange(m.draft_config.draft_vocab_size, at::kLong) * 7;  // any mapping
  Eagle3Proposer in_parts(draft, d2t), at_once(draft, d2t);
  in_parts.observe(0, aux.narrow(1, 0, 9), {next.begin(), next.begin() + 9});
  in_parts.propose(4);
  in_parts.observe(9, aux.narrow(1, 9, 4), {next.begin() + 9, next.end()});
  at_once.observe(0, aux, next);
  EXPECT_EQ(in_parts.propose(5), at_once.propose(5));
}

TEST(Speculative, StopTokenEndsGeneration) {
  Models m;
  const std::vector<std::int64_t> p = prompt(6, 9);
  const std::vector<std::int64_t> free_run = greedy_generate(m.target, p, {20, {}});
  const std::int64_t stop = free_run[4];
  const std::vector<std::int64_t> want = greedy_generate(m.target, p, {20, {stop}});
  ASSERT_LE(want.size(), 5u);
  EXPECT_EQ(want.back(), stop);
  const model::Eagle3Draft draft = m.draft(1);
  Eagle3Proposer proposer(draft, at::zeros({m.draft_config.draft_vocab_size}, at::kLong));
  EXPECT_EQ(speculative_generate(m.target, proposer, m.aux, p, 3, {20, {stop}}).tokens, want);
}

}  // namespace
}  // namespace talon::eval
