// The draft tree an EAGLE proposer builds after the last verified token,
// with the meaning of SGLang's flags: --speculative-num-steps draft steps
// (the tree's depth), --speculative-eagle-topk branches kept per step, and
// --speculative-num-draft-tokens tokens verified by the target (the last
// verified one, the root, and the best num_draft_tokens - 1 drafts).
//
// Step 1 takes the top-k tokens of the draft's distribution at the root,
// each scored by its probability. Each later step runs the draft on the k
// best-scored tokens of the step before and scores each of their top-k
// children by parent score x child probability. The tree is the
// num_draft_tokens - 1 best-scored of all these candidates. A child never
// outscores its parent, so with ties going to the earlier candidate every
// chosen node's parent is chosen too. topk 1 is chain drafting.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace talon::eval {

struct TreeShape {
  std::int64_t num_steps = 3;
  std::int64_t topk = 1;
  std::int64_t num_draft_tokens = 4;

  // Candidates the steps produce: topk + (num_steps - 1) * topk^2.
  std::int64_t candidates() const;
  // Throws unless every field is positive and 2 <= num_draft_tokens <= candidates() + 1.
  void check() const;
};

// Nodes in candidate order, so a parent comes before its children.
struct DraftTree {
  std::vector<std::int64_t> tokens;
  std::vector<std::int64_t> parents;  // index into tokens; -1: the root

  std::vector<std::int64_t> depths() const;  // 1 for the root's children
};

// The candidates of one sequence: scores, target token ids and parents
// (index into the candidates, -1 for the root), in the order they were
// produced.
struct Candidates {
  std::vector<float> scores;
  std::vector<std::int64_t> tokens, parents;
};

// The `count` best-scored candidates (ties: the earlier), as a tree.
DraftTree best_tree(const Candidates& candidates, std::int64_t count);

// The target's view of [root, nodes...]: bool [1 + n, 1 + n], each node
// attending to itself and its ancestors, the root included.
at::Tensor ancestor_mask(const DraftTree& tree);

}  // namespace talon::eval
