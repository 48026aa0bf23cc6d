// Speculative decoding (eval/speculative.h) is lossless: on the tiny
// example's target architecture with random weights (drawn wide enough that
// the output depends on the whole context), its output is token for token
// the target's own greedy output, one prompt at a time and in batches, for
// chains and trees of several shapes, with a random EAGLE-3 draft (almost
// never accepted) and with oracles that make every verification accept a
// chosen number of drafts. The features handed to the proposer are the
// whole-sequence forward's; the draft's steps match a recomputation without
// a cache, are rolled back exactly, and equal training's TTT steps. Batched
// greedy decoding is each prompt's own, and sampling with top-p near 0 is
// greedy.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <set>

#include "talon/eval/eagle3_proposer.h"
#include "talon/eval/generate.h"
#include "talon/eval/speculative.h"
#include "talon/io/safetensors.h"
#include "talon/model/layers.h"
#include "talon/model/target_weights.h"
#include "talon/model/eagle3/ttt.h"
#include "test_support.h"
#include "tiny_target.h"

namespace talon::eval {
namespace {

using testing::TempDir;

struct Models {
  TempDir tmp;
  model::TargetModel target;
  io::DraftConfig draft_config;
  std::vector<int> aux;

  Models() : target(testing::tiny_target_with_wide_weights(tmp)) {
    draft_config = io::load_draft_config(std::string(TALON_SOURCE_DIR) + "/examples/tiny-draft-config.json");
    aux = io::aux_layer_ids(draft_config, static_cast<int>(target.config().num_hidden_layers));
  }
  // Like the target's, the projections drawn wider than at initialisation
  // (x15: std 0.3), so that what a draft step attends to shows in its output.
  model::Eagle3Draft draft(std::uint64_t seed) const {
    model::Eagle3Draft d =
        model::Eagle3Draft::create(draft_config, target.embed_tokens(), at::detail::createCPUGenerator(seed),
                                   at::TensorOptions().dtype(at::kFloat));
    at::NoGradGuard no_grad;
    for (at::Tensor* w : {&d.q_proj, &d.k_proj, &d.v_proj, &d.o_proj, &d.gate_proj, &d.up_proj, &d.down_proj}) {
      w->mul_(15);
    }
    return d;
  }
};

Tokens prompt(std::int64_t n, std::int64_t seed) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  at::Tensor ids = at::randint(1000, {n}, g, at::kLong);
  return {ids.data_ptr<std::int64_t>(), ids.data_ptr<std::int64_t>() + n};
}

// Equal up to rounding (fp32's by default) relative to the values' scale
// (thousands with these wide weights).
bool close(const at::Tensor& got, const at::Tensor& want, double relative = 1e-5) {
  return (got - want).abs().max().item<double>() <= relative * want.abs().max().item<double>();
}

Tokens greedy(const model::TargetModel& target, const Tokens& p, const GenerationLimits& limits) {
  return generate(target, {p}, limits).front();
}

const std::vector<TreeShape> kShapes = {{1, 1, 2}, {3, 1, 4}, {5, 1, 6}, {3, 2, 6}, {4, 3, 12}, {2, 4, 21}};

TEST(Speculative, RandomDraftReproducesGreedyDecoding) {
  Models m;
  const GenerationLimits limits{24, {}};
  const at::Tensor d2t = at::zeros({m.draft_config.draft_vocab_size}, at::kLong);
  const std::vector<Tokens> prompts = {prompt(9, 1), prompt(4, 2), prompt(13, 3)};
  std::vector<Tokens> want;
  for (const Tokens& p : prompts) want.push_back(greedy(m.target, p, limits));
  ASSERT_EQ(want[0].size(), 24u);
  const model::Eagle3Draft draft = m.draft(1);
  for (const TreeShape& shape : kShapes) {
    for (std::size_t batch : {std::size_t{1}, prompts.size()}) {
      const std::vector<Tokens> part(prompts.begin(), prompts.begin() + static_cast<std::ptrdiff_t>(batch));
      Eagle3Proposer proposer(draft, d2t, shape, static_cast<std::int64_t>(batch));
      const std::vector<SpeculativeResult> got = speculative_generate(m.target, proposer, m.aux, part, limits);
      for (std::size_t i = 0; i < batch; ++i) {
        EXPECT_EQ(got[i].tokens, want[i])
            << "steps " << shape.num_steps << ", topk " << shape.topk << ", batch " << batch << ", prompt " << i;
      }
    }
  }
}

// Proposes trees holding the target's own greedy continuation of each row:
// at each depth the right token and a wrong one as children of the right
// node before, the right one first or second by turns; in round r the right
// tokens of row b stop at depth (r + b) mod (k + 1), so verifications accept
// every count 0..k and rows advance by different counts. Checks the
// features it is shown against the whole-sequence forward.
class OracleProposer : public Proposer {
 public:
  OracleProposer(const model::TargetModel& target, const std::vector<Tokens>& sequences, std::vector<int> aux,
                 std::int64_t k)
      : k_(k) {
    for (std::size_t b = 0; b < sequences.size(); ++b) {
      rows_.push_back({sequences[b], target.forward(at::tensor(sequences[b], at::kLong).unsqueeze(0), aux).aux[0], 0,
                       static_cast<std::int64_t>(b)});
    }
  }
  void observe(const std::vector<at::Tensor>& aux, const std::vector<Tokens>& next) override {
    ASSERT_EQ(aux.size(), rows_.size());
    for (std::size_t b = 0; b < rows_.size(); ++b) {
      Row& row = rows_[b];
      const auto n = static_cast<std::int64_t>(next[b].size());
      EXPECT_TRUE(close(aux[b], row.whole.narrow(0, row.known, n))) << "row " << row.offset << " from " << row.known;
      for (std::int64_t i = 0; i < n; ++i) {
        EXPECT_EQ(next[b][static_cast<std::size_t>(i)], row.sequence[static_cast<std::size_t>(row.known + i + 1)]);
      }
      row.known += n;  // s_0..s_known are settled
    }
  }
  std::vector<DraftTree> propose() override {
    std::vector<DraftTree> trees;
    for (const Row& row : rows_) {
      DraftTree tree;
      const std::int64_t round = round_ + row.offset;
      std::int64_t right = -1;  // the right node of the depth before
      for (std::int64_t depth = 1; depth <= k_; ++depth) {
        const auto at = static_cast<std::size_t>(std::min<std::int64_t>(row.known + depth, row.sequence.size() - 1));
        const std::int64_t truth = row.sequence[at];
        const std::int64_t token = round % (k_ + 1) < depth ? truth + 2 : truth;
        const bool right_first = (round + depth) % 2 == 0;
        for (std::int64_t t : right_first ? Tokens{token, truth + 1} : Tokens{truth + 1, token}) {
          tree.tokens.push_back(t);
          tree.parents.push_back(right);
        }
        right = static_cast<std::int64_t>(tree.tokens.size()) - (right_first ? 2 : 1);
      }
      trees.push_back(tree);
    }
    ++round_;
    return trees;
  }
  void keep_rows(const std::vector<std::int64_t>& rows) override { rows_ = select_rows(rows_, rows); }

 private:
  struct Row {
    Tokens sequence;   // prompt + the greedy continuation
    at::Tensor whole;  // [L, 3H]
    std::int64_t known, offset;
  };
  std::vector<Row> rows_;
  std::int64_t k_, round_ = 0;
};

TEST(Speculative, EveryAcceptedCountKeepsTheOutputGreedy) {
  Models m;
  const std::vector<Tokens> prompts = {prompt(7, 5), prompt(11, 6), prompt(4, 7)};
  // Row 1 stops early at a token of its own output; the others may run on.
  const GenerationLimits limits{40, {greedy(m.target, prompts[1], {40, {}})[9]}};
  std::vector<Tokens> want, sequences;
  for (const Tokens& p : prompts) {
    want.push_back(greedy(m.target, p, limits));
    sequences.push_back(p);
    sequences.back().insert(sequences.back().end(), want.back().begin(), want.back().end());
  }
  ASSERT_LE(want[1].size(), 10u);
  for (std::int64_t depth : {1, 3, 4}) {
    for (std::size_t batch : {std::size_t{1}, prompts.size()}) {
      const std::vector<Tokens> part(prompts.begin(), prompts.begin() + static_cast<std::ptrdiff_t>(batch));
      OracleProposer oracle(m.target, {sequences.begin(), sequences.begin() + static_cast<std::ptrdiff_t>(batch)},
                            m.aux, depth);
      const std::vector<SpeculativeResult> got = speculative_generate(m.target, oracle, m.aux, part, limits);
      std::set<std::int64_t> lengths;
      for (std::size_t b = 0; b < batch; ++b) {
        EXPECT_EQ(got[b].tokens, want[b]) << depth << " draft steps, batch " << batch << ", row " << b;
        lengths.insert(got[b].accept_lengths.begin(), got[b].accept_lengths.end());
        std::int64_t at_depth_one = 0;
        for (std::int64_t length : got[b].accept_lengths) at_depth_one += length > 1;
        EXPECT_EQ(got[b].accepted.empty() ? 0 : got[b].accepted.front(), at_depth_one);
      }
      for (std::int64_t length = 1; length <= depth + 1; ++length) EXPECT_TRUE(lengths.count(length)) << length;
    }
  }
}

// The draft's steps with a cache equal a recomputation over the whole
// history (fc of the verified features, then each step's own h) without
// one; the fused prefill equals the masked first step; a cache shown the history in two parts, with draft steps in
// between that it discards, gives the states of one shown it at once; and so do the proposers built on it.
TEST(Speculative, DraftStepsMatchARecomputationAndAreRolledBack) {
  Models m;
  const Tokens sequence = prompt(14, 3);
  const at::Tensor aux = m.target.forward(at::tensor(sequence, at::kLong).unsqueeze(0), m.aux).aux.narrow(1, 0, 13);
  const Tokens next(sequence.begin() + 1, sequence.end());  // after positions 0..12
  const model::Eagle3Draft draft = m.draft(4);
  const at::Tensor hidden = at::linear(aux, draft.fc);
  const at::Tensor ids = at::tensor(next, at::kLong).unsqueeze(0);
  auto causal = [](std::int64_t n) { return at::ones({1, n, n}, at::kBool).tril(); };
  auto from = [](std::int64_t first, std::int64_t n) { return at::arange(first, first + n).unsqueeze(0); };

  model::BatchCache parts(1), once(1);
  model::DraftStep step = model::draft_extend(draft, hidden.narrow(1, 0, 9), ids.narrow(1, 0, 9), from(0, 9),
                                              parts.mask(causal(9)), parts.kv());
  parts.settle({{0, 1, 2, 3, 4, 5, 6, 7, 8}});
  model::KvCache prefilled;  // the fused causal twin of that first, masked step
  const model::DraftStep first = model::draft_prefill(draft, hidden.narrow(1, 0, 9), ids.narrow(1, 0, 9), prefilled);
  EXPECT_TRUE(close(first.hidden, step.hidden));
  EXPECT_TRUE(close(first.logits, step.logits));
  EXPECT_TRUE(close(prefilled.keys(0), parts.kv().keys(0)));
  EXPECT_TRUE(close(prefilled.values(0), parts.kv().values(0)));
  at::Tensor h_in = hidden.narrow(1, 0, 9), step_ids = ids.narrow(1, 0, 9);
  for (std::int64_t j = 1; j <= 3; ++j) {
    const at::Tensor token = at::tensor({std::int64_t{100 * j}}).unsqueeze(0);
    h_in = at::cat({h_in, step.hidden.narrow(1, -1, 1)}, 1);
    step_ids = at::cat({step_ids, token}, 1);
    step = model::draft_extend(draft, step.hidden.narrow(1, -1, 1), token, from(8 + j, 1),
                               parts.mask(at::ones({1, 1, j}, at::kBool)), parts.kv());
    model::BatchCache fresh(1);
    const model::DraftStep whole =
        model::draft_extend(draft, h_in, step_ids, from(0, 9 + j), fresh.mask(causal(9 + j)), fresh.kv());
    EXPECT_TRUE(close(step.hidden[0][0], whole.hidden[0][-1])) << "draft step " << j;
  }
  parts.discard_unsettled();
  const model::DraftStep rest = model::draft_extend(draft, hidden.narrow(1, 9, 4), ids.narrow(1, 9, 4), from(9, 4),
                                                    parts.mask(causal(4)), parts.kv());
  const model::DraftStep all = model::draft_extend(draft, hidden, ids, from(0, 13), once.mask(causal(13)), once.kv());
  EXPECT_TRUE(close(rest.hidden, all.hidden.narrow(1, 9, 4)));
  EXPECT_TRUE(close(rest.logits, all.logits.narrow(1, 9, 4)));

  const at::Tensor d2t = at::arange(m.draft_config.draft_vocab_size, at::kLong) * 7;  // any mapping
  for (const TreeShape& shape : kShapes) {
    Eagle3Proposer in_parts(draft, d2t, shape, 1), at_once(draft, d2t, shape, 1);
    in_parts.observe({aux[0].narrow(0, 0, 9)}, {{next.begin(), next.begin() + 9}});
    in_parts.propose();
    in_parts.observe({aux[0].narrow(0, 9, 4)}, {{next.begin() + 9, next.end()}});
    at_once.observe({aux[0]}, {next});
    const DraftTree a = in_parts.propose().front(), b = at_once.propose().front();
    EXPECT_EQ(a.tokens, b.tokens) << "steps " << shape.num_steps << ", topk " << shape.topk;
    EXPECT_EQ(a.parents, b.parents) << "steps " << shape.num_steps << ", topk " << shape.topk;
    EXPECT_EQ(static_cast<std::int64_t>(a.tokens.size()), shape.num_draft_tokens - 1);
  }
}

// Training's TTT steps are the decoder's draft steps (brief §2): step s of
// the training forward at index t is the draft after the verified
// positions 0..t and s drafted tokens, here the sequence's own next tokens.
// The decoder fed those tokens gives the same h, in fp64 and fp32; and a
// chain proposer's drafts are the training logits' argmax once the
// sequence continues with those drafts.
TEST(Speculative, DraftStepsAreTrainingsTttSteps) {
  Models m;
  for (const bool eagle31 : {false, true}) {
  SCOPED_TRACE(eagle31 ? "EAGLE-3.1: fc_norm, norm_output" : "EAGLE-3");
  m.draft_config.fc_norm = m.draft_config.norm_output = eagle31;
  const int steps = 4;
  const std::int64_t length = 12;
  const Tokens sequence = prompt(length, 9);
  const at::Tensor features = m.target.forward(at::tensor(sequence, at::kLong).unsqueeze(0), m.aux).aux;
  const at::Tensor lengths = at::tensor({length});
  for (const at::ScalarType dtype : {at::kDouble, at::kFloat}) {
    SCOPED_TRACE(at::toString(dtype));
    model::Eagle3Draft draft = m.draft(5);
    draft.to(at::TensorOptions().dtype(dtype));
    const at::Tensor aux = features.to(dtype), ids = at::tensor(sequence, at::kLong).unsqueeze(0);
    const std::vector<at::Tensor> ttt = model::ttt_hidden_states(draft, ids, aux, lengths, steps);
    // norm_output renormalises each step's state to O(1) from pre-norm
    // values in the thousands (the wide weights): fp32's rounding of those
    // shows at about 1e-5 of the normed state after a few steps.
    const double relative = dtype == at::kDouble ? 1e-10 : eagle31 ? 3e-5 : 1e-5;
    for (const std::int64_t t : {std::int64_t{0}, std::int64_t{3}, length - steps - 1}) {
      model::KvCache cache;
      model::DraftStep step =
          model::draft_prefill(draft, model::fuse_aux(draft, aux.narrow(1, 0, t + 1)), ids.narrow(1, 1, t + 1), cache);
      at::Tensor h = step.hidden.narrow(1, t, 1);
      EXPECT_TRUE(close(h, ttt[0].narrow(1, t, 1), relative)) << "index " << t << ", step 0";
      for (std::int64_t s = 1; s < steps; ++s) {
        h = model::draft_extend(draft, h, ids.narrow(1, t + s + 1, 1), at::full({1, 1}, t + s),
                                at::ones({1, 1, t + 1 + s}, at::kBool), cache)
                .hidden;
        EXPECT_TRUE(close(h, ttt[static_cast<std::size_t>(s)].narrow(1, t, 1), relative))
            << "index " << t << ", step " << s;
      }

      Eagle3Proposer chain(draft, at::zeros({m.draft_config.draft_vocab_size}, at::kLong), {steps, 1, steps + 1}, 1);
      chain.observe({aux[0].narrow(0, 0, t + 1)}, {Tokens(sequence.begin() + 1, sequence.begin() + t + 2)});
      const Tokens drafts = chain.propose().front().tokens;
      const at::Tensor continued = ids.clone();
      for (std::int64_t s = 0; s + 1 < steps; ++s) continued[0][t + s + 2] = drafts[static_cast<std::size_t>(s)];
      const std::vector<at::Tensor> drafted = model::ttt_hidden_states(draft, continued, aux, lengths, steps);
      for (std::int64_t s = 0; s < steps; ++s) {
        // With norm_output the training states are normed already: lm_head reads them as they are.
        const at::Tensor state = drafted[static_cast<std::size_t>(s)][0][t];
        const at::Tensor logits = at::linear(
            eagle31 ? state : model::rms_norm(state, draft.norm, m.draft_config.rms_norm_eps), draft.lm_head);
        EXPECT_EQ(drafts[static_cast<std::size_t>(s)], logits.argmax().item<std::int64_t>())
            << "index " << t << ", draft " << s + 1;
      }
    }
  }
}
}

// The first level of a tree is the top-k of the draft's distribution at the
// last verified position (computed here from the whole history), and a
// chain (topk 1) is the draft's argmax at each step, each step fed the
// previous one's h and token.
TEST(Speculative, TreesFollowTheDraftsDistribution) {
  Models m;
  const Tokens sequence = prompt(10, 6);
  const at::Tensor aux = m.target.forward(at::tensor(sequence, at::kLong).unsqueeze(0), m.aux).aux;
  const Tokens next(sequence.begin() + 1, sequence.end());
  const model::Eagle3Draft draft = m.draft(8);
  const at::Tensor d2t = at::arange(m.draft_config.draft_vocab_size, at::kLong) % 5;  // i -> i + i mod 5
  const std::int64_t n = 9;
  model::BatchCache cache(1);
  const model::DraftStep root =
      model::draft_extend(draft, at::linear(aux.narrow(1, 0, n), draft.fc), at::tensor(next, at::kLong).unsqueeze(0),
                          at::arange(n).unsqueeze(0), cache.mask(at::ones({1, n, n}, at::kBool).tril()), cache.kv());
  cache.settle({{0, 1, 2, 3, 4, 5, 6, 7, 8}});
  const at::Tensor top = std::get<1>(root.logits[0][-1].topk(3));
  Eagle3Proposer proposer(draft, d2t, {2, 3, 10}, 1);
  proposer.observe({aux[0].narrow(0, 0, n)}, {next});
  const DraftTree tree = proposer.propose().front();
  for (std::int64_t i = 0; i < 3; ++i) {
    const std::int64_t index = top[i].item<std::int64_t>();
    EXPECT_EQ(tree.tokens[static_cast<std::size_t>(i)], index + index % 5) << "first-level node " << i;
    EXPECT_EQ(tree.parents[static_cast<std::size_t>(i)], -1);
  }
  for (std::size_t i = 3; i < tree.tokens.size(); ++i) EXPECT_GE(tree.parents[i], 0) << "second-level node " << i;

  Eagle3Proposer chain(draft, d2t, {4, 1, 5}, 1);
  chain.observe({aux[0].narrow(0, 0, n)}, {next});
  const DraftTree drafts = chain.propose().front();
  model::DraftStep step = root;
  for (std::int64_t d = 0; d < 4; ++d) {
    const std::int64_t index = step.logits[0][-1].argmax().item<std::int64_t>();
    const std::int64_t token = index + index % 5;
    EXPECT_EQ(drafts.tokens[static_cast<std::size_t>(d)], token) << "draft " << d + 1;
    EXPECT_EQ(drafts.parents[static_cast<std::size_t>(d)], d - 1);
    step = model::draft_extend(draft, step.hidden.narrow(1, -1, 1), at::tensor({token}).unsqueeze(0),
                               at::full({1, 1}, n + d), cache.mask(at::ones({1, 1, d + 1}, at::kBool)), cache.kv());
  }
}

// The slow twin of Eagle3Proposer::propose(): the candidates expanded with
// plain loops, each branch's draft step recomputed without a cache over the
// verified history and the inputs its branch slot held at the earlier steps.
DraftTree naive_tree(const model::Eagle3Draft& draft, const at::Tensor& d2t, const TreeShape& shape,
                     const at::Tensor& aux, const Tokens& next) {
  const std::int64_t k = shape.topk;
  auto run = [&](const at::Tensor& h, const Tokens& ids) {  // the last position's h and probabilities
    const auto length = static_cast<std::int64_t>(ids.size());
    model::BatchCache fresh(1);
    const model::DraftStep out =
        model::draft_extend(draft, h, at::tensor(ids, at::kLong).unsqueeze(0), at::arange(length).unsqueeze(0),
                            fresh.mask(at::ones({1, length, length}, at::kBool).tril()), fresh.kv());
    return std::make_pair(out.hidden[0][-1], at::softmax(out.logits[0][-1], -1));
  };
  struct Beam {
    std::int64_t candidate;
    float score;
    at::Tensor h;
    std::int64_t token;
  };
  Candidates c;
  std::vector<Beam> beams;
  auto add_children = [&](const at::Tensor& probs, const at::Tensor& h, float score, std::int64_t parent) {
    const auto [p, index] = probs.topk(k);
    for (std::int64_t i = 0; i < k; ++i) {
      const std::int64_t draft_index = index[i].item<std::int64_t>();
      c.scores.push_back(score * p[i].item<float>());
      c.tokens.push_back(draft_index + d2t[draft_index].item<std::int64_t>());
      c.parents.push_back(parent);
      beams.push_back({static_cast<std::int64_t>(c.scores.size()) - 1, c.scores.back(), h, c.tokens.back()});
    }
  };
  const at::Tensor history = at::linear(aux, draft.fc).unsqueeze(0);
  auto [root_h, root_p] = run(history, next);
  add_children(root_p, root_h, 1.0F, -1);
  std::vector<at::Tensor> slot_h(static_cast<std::size_t>(k), history);
  std::vector<Tokens> slot_ids(static_cast<std::size_t>(k), next);
  for (std::int64_t s = 1; s < shape.num_steps; ++s) {
    const std::vector<Beam> parents = beams;
    beams.clear();
    for (std::size_t j = 0; j < parents.size(); ++j) {
      slot_h[j] = at::cat({slot_h[j], parents[j].h.view({1, 1, -1})}, 1);
      slot_ids[j].push_back(parents[j].token);
      auto [h, probs] = run(slot_h[j], slot_ids[j]);
      add_children(probs, h, parents[j].score, parents[j].candidate);
    }
    std::stable_sort(beams.begin(), beams.end(), [](const Beam& a, const Beam& b) { return a.score > b.score; });
    beams.resize(static_cast<std::size_t>(k));
  }
  return best_tree(c, shape.num_draft_tokens - 1);
}

TEST(Speculative, TreesMatchTheirSlowTwin) {
  Models m;
  const Tokens sequence = prompt(11, 14);
  const at::Tensor aux = m.target.forward(at::tensor(sequence, at::kLong).unsqueeze(0), m.aux).aux[0].narrow(0, 0, 10);
  const Tokens next(sequence.begin() + 1, sequence.end());
  const at::Tensor d2t = at::arange(m.draft_config.draft_vocab_size, at::kLong) % 3;
  for (std::uint64_t seed : {21, 22}) {
    const model::Eagle3Draft draft = m.draft(seed);
    for (const TreeShape& shape : {TreeShape{3, 2, 7}, TreeShape{4, 3, 16}, TreeShape{2, 4, 21}}) {
      Eagle3Proposer proposer(draft, d2t, shape, 1);
      proposer.observe({aux}, {next});
      const DraftTree fast = proposer.propose().front(), slow = naive_tree(draft, d2t, shape, aux, next);
      EXPECT_EQ(fast.tokens, slow.tokens)
          << "seed " << seed << ", steps " << shape.num_steps << ", topk " << shape.topk;
      EXPECT_EQ(fast.parents, slow.parents) << "seed " << seed << ", steps " << shape.num_steps;
    }
  }
}

// best_tree keeps the best-scored candidates, ties going to the earlier,
// in candidate order with parents remapped; depths and the ancestor mask
// follow the parents.
TEST(DraftTree, BestCandidatesFormTheTree) {
  const Candidates c{{0.5F, 0.3F, 0.25F, 0.2F, 0.12F, 0.09F}, {10, 20, 30, 40, 50, 60}, {-1, -1, 0, 0, 1, 1}};
  DraftTree tree = best_tree(c, 5);
  EXPECT_EQ(tree.tokens, (Tokens{10, 20, 30, 40, 50}));
  EXPECT_EQ(tree.parents, (std::vector<std::int64_t>{-1, -1, 0, 0, 1}));
  EXPECT_EQ(tree.depths(), (std::vector<std::int64_t>{1, 1, 2, 2, 2}));
  const Candidates tied{{0.5F, 0.25F, 0.25F, 0.25F}, {1, 2, 3, 4}, {-1, 0, 0, 1}};
  tree = best_tree(tied, 3);
  EXPECT_EQ(tree.tokens, (Tokens{1, 2, 3}));
  EXPECT_EQ(tree.parents, (std::vector<std::int64_t>{-1, 0, 0}));
  const at::Tensor want = at::tensor({1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 0, 1}).view({4, 4}).to(at::kBool);
  EXPECT_TRUE(at::equal(ancestor_mask(tree), want));
}

TEST(Speculative, StopTokenEndsGeneration) {
  Models m;
  const Tokens p = prompt(6, 9);
  const Tokens free_run = greedy(m.target, p, {20, {}});
  const std::int64_t stop = free_run[4];
  const Tokens want = greedy(m.target, p, {20, {stop}});
  ASSERT_LE(want.size(), 5u);
  EXPECT_EQ(want.back(), stop);
  const model::Eagle3Draft draft = m.draft(1);
  for (const TreeShape& shape : {TreeShape{3, 1, 4}, TreeShape{3, 2, 6}}) {
    Eagle3Proposer proposer(draft, at::zeros({m.draft_config.draft_vocab_size}, at::kLong), shape, 1);
    EXPECT_EQ(speculative_generate(m.target, proposer, m.aux, {p}, {20, {stop}}).front().tokens, want);
  }
}

// Batched plain decoding gives each prompt its own output, however long the
// prompts and outputs (a stop token ends some rows early); sampling with
// top-p near 0 keeps only the most likely token, which is greedy decoding,
// and a sequence's sampled text depends on its seed, not on its batch.
TEST(Generate, BatchesAndSamplingAgreeWithOnePromptAtATime) {
  Models m;
  const std::vector<Tokens> prompts = {prompt(5, 11), prompt(12, 12), prompt(3, 13)};
  const std::int64_t stop = greedy(m.target, prompts[1], {20, {}})[6];
  const GenerationLimits limits{20, {stop}};
  std::vector<Tokens> alone;
  for (const Tokens& p : prompts) alone.push_back(greedy(m.target, p, limits));
  EXPECT_EQ(generate(m.target, prompts, limits), alone);
  EXPECT_EQ(generate(m.target, prompts, limits, {1.0, 1e-9}, {1, 2, 3}), alone);

  const Sampling warm{0.7, 0.9};
  const std::vector<Tokens> together = generate(m.target, prompts, limits, warm, {7, 8, 9});
  EXPECT_EQ(generate(m.target, {prompts[1]}, limits, warm, {8}).front(), together[1]);
  EXPECT_NE(together, alone) << "temperature 0.7 should leave the greedy path";
}

}  // namespace
}  // namespace talon::eval
