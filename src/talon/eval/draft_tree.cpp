#include "talon/eval/draft_tree.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <numeric>

#include "talon/util/error.h"

namespace talon::eval {

std::int64_t TreeShape::candidates() const { return topk + (num_steps - 1) * topk * topk; }

void TreeShape::check() const {
  if (num_steps < 1 || topk < 1) {
    fail("draft tree: --speculative-num-steps ({}) and --speculative-eagle-topk ({}) must be positive", num_steps,
         topk);
  }
  if (num_draft_tokens < 2 || num_draft_tokens > candidates() + 1) {
    fail(
        "draft tree: --speculative-num-draft-tokens {} must be in [2, {}]: the root and at most topk + "
        "(num_steps - 1) * topk^2 = {} drafts for num_steps {}, topk {}",
        num_draft_tokens, candidates() + 1, candidates(), num_steps, topk);
  }
}

std::vector<std::int64_t> DraftTree::depths() const {
  std::vector<std::int64_t> depth(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    depth[i] = parents[i] < 0 ? 1 : depth[static_cast<std::size_t>(parents[i])] + 1;
  }
  return depth;
}

DraftTree best_tree(const Candidates& c, std::int64_t count) {
  std::vector<std::int64_t> order(c.scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    return c.scores[static_cast<std::size_t>(a)] > c.scores[static_cast<std::size_t>(b)];
  });
  order.resize(static_cast<std::size_t>(std::min<std::int64_t>(count, static_cast<std::int64_t>(order.size()))));
  std::sort(order.begin(), order.end());
  std::vector<std::int64_t> node_of(c.scores.size(), -1);
  DraftTree tree;
  for (std::int64_t candidate : order) {
    const auto i = static_cast<std::size_t>(candidate);
    const std::int64_t parent = c.parents[i] < 0 ? -1 : node_of[static_cast<std::size_t>(c.parents[i])];
    if (c.parents[i] >= 0 && parent < 0) fail("draft tree: candidate {} is chosen without its parent", candidate);
    node_of[i] = static_cast<std::int64_t>(tree.tokens.size());
    tree.tokens.push_back(c.tokens[i]);
    tree.parents.push_back(parent);
  }
  return tree;
}

at::Tensor ancestor_mask(const DraftTree& tree) {
  const auto n = static_cast<std::int64_t>(tree.tokens.size()) + 1;
  at::Tensor mask = at::zeros({n, n}, at::kBool);
  auto m = mask.accessor<bool, 2>();
  for (std::int64_t i = 0; i < n; ++i) {
    m[i][0] = true;
    for (std::int64_t node = i - 1; node >= 0; node = tree.parents[static_cast<std::size_t>(node)])
      m[i][node + 1] = true;
  }
  return mask;
}

}  // namespace talon::eval
