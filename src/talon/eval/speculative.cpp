#include "talon/eval/speculative.h"

#include <ATen/ATen.h>

#include "talon/util/error.h"

namespace talon::eval {
namespace {

// One row's verification of [root, tree...] against the target's argmax
// after each of those positions: the accepted path's block indices (root
// first) and the tokens it yields (the accepted drafts and the bonus).
struct Verdict {
  std::vector<std::int64_t> path = {0};
  Tokens produced;
};

Verdict verify(const DraftTree& tree, const at::Tensor& wanted) {
  Verdict v;
  auto want = wanted.accessor<std::int64_t, 1>();
  std::int64_t node = -1;  // the tree's root
  while (true) {
    const std::int64_t token = want[node + 1];
    std::int64_t child = -1;
    for (std::size_t i = 0; i < tree.tokens.size() && child < 0; ++i) {
      if (tree.parents[i] == node && tree.tokens[i] == token) child = static_cast<std::int64_t>(i);
    }
    v.produced.push_back(token);
    if (child < 0) return v;
    v.path.push_back(child + 1);
    node = child;
  }
}

}  // namespace

std::vector<SpeculativeResult> speculative_generate(const model::TargetModel& target, Proposer& proposer,
                                                    const std::vector<int>& aux_layers,
                                                    const std::vector<Tokens>& prompts,
                                                    const GenerationLimits& limits) {
  std::vector<SpeculativeResult> results(prompts.size());
  if (prompts.empty()) return results;
  const auto count = static_cast<std::int64_t>(prompts.size());
  model::BatchCache cache(count);  // the target's: s_0..s_{N-1}; `pending` holds s_N
  const model::TargetFeatures f = prefill(target, cache, prompts, aux_layers);
  const at::Tensor pending_all = target_argmax(target, at_last_positions(f.hidden, prompts));
  std::vector<std::int64_t> rows;  // batch row -> prompt
  std::vector<bool> over;
  std::vector<at::Tensor> aux;
  std::vector<Tokens> next;
  for (std::int64_t b = 0; b < count; ++b) {
    const Tokens& p = prompts[static_cast<std::size_t>(b)];
    const std::int64_t pending = pending_all[b].item<std::int64_t>();
    rows.push_back(b);
    over.push_back(append_until_limit(results[static_cast<std::size_t>(b)].tokens, {pending}, limits));
    aux.push_back(f.aux[b].narrow(0, 0, static_cast<std::int64_t>(p.size())));
    next.push_back(Tokens(p.begin() + 1, p.end()));
    next.back().push_back(pending);
  }
  // Drops the finished rows and shows the proposer what the others
  // verified; false when every row is finished.
  auto continue_unfinished = [&] {
    const std::vector<std::int64_t> going = unfinished(over);
    if (going.empty()) return false;
    if (going.size() < rows.size()) {
      cache.keep_rows(going);
      proposer.keep_rows(going);
      rows = select_rows(rows, going);
      next = select_rows(next, going);
      aux = select_rows(aux, going);
      over = select_rows(over, going);
    }
    proposer.observe(aux, next);
    return true;
  };

  while (continue_unfinished()) {
    const auto batch = static_cast<std::int64_t>(rows.size());
    const std::vector<DraftTree> trees = proposer.propose();
    const auto width = static_cast<std::int64_t>(trees.front().tokens.size()) + 1;
    at::Tensor ids = at::empty({batch, width}, at::kLong), depth = at::zeros({batch, width}, at::kLong);
    at::Tensor block = at::empty({batch, width, width}, at::kBool);
    for (std::int64_t b = 0; b < batch; ++b) {
      const DraftTree& tree = trees[static_cast<std::size_t>(b)];
      if (static_cast<std::int64_t>(tree.tokens.size()) + 1 != width) fail("speculative: draft trees differ in size");
      Tokens block_ids = {next[static_cast<std::size_t>(b)].back()};
      block_ids.insert(block_ids.end(), tree.tokens.begin(), tree.tokens.end());
      ids[b].copy_(at::tensor(block_ids, at::kLong));
      depth[b].narrow(0, 1, width - 1).copy_(at::tensor(tree.depths(), at::kLong));
      block[b].copy_(ancestor_mask(tree));
    }
    const model::TargetFeatures v =
        target.extend(ids, cache.positions(depth), cache.mask(block), cache.kv(), aux_layers);
    const at::Tensor wanted = target_argmax(target, v.hidden);
    std::vector<std::vector<std::int64_t>> paths;
    for (std::int64_t b = 0; b < batch; ++b) {
      const auto i = static_cast<std::size_t>(b);
      const Verdict verdict = verify(trees[i], wanted[b]);
      SpeculativeResult& r = results[static_cast<std::size_t>(rows[i])];
      const auto accepted = static_cast<std::int64_t>(verdict.path.size()) - 1;
      r.accept_lengths.push_back(accepted + 1);
      if (static_cast<std::int64_t>(r.accepted.size()) < accepted)
        r.accepted.resize(static_cast<std::size_t>(accepted));
      for (std::int64_t d = 0; d < accepted; ++d) ++r.accepted[static_cast<std::size_t>(d)];
      over[i] = append_until_limit(r.tokens, verdict.produced, limits);
      paths.push_back(verdict.path);
      aux[i] = v.aux[b].index_select(0, at::tensor(verdict.path, at::kLong).to(v.aux.device()));
      next[i] = verdict.produced;
    }
    cache.settle(paths);
  }
  return results;
}

}  // namespace talon::eval
