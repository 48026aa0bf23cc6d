// The parallel layout of brief §4: the world of W ranks is cut two ways,
// independently. For the target, into target-TP groups of `target_tp`
// consecutive ranks (W / target_tp of them: target data parallelism); for
// the draft, into draft-TP groups of `draft_tp` consecutive ranks (draft
// data parallelism, W / draft_tp). A rank's place in each is arithmetic.
#pragma once

#include <vector>

namespace talon::parallel {

struct Layout {
  int world = 1;
  int rank = 0;
  int target_tp = 1;
  int draft_tp = 1;

  // Checks that both TP sizes divide the world; errors name the flag.
  void validate() const;

  int target_dp() const { return world / target_tp; }
  int draft_dp() const { return world / draft_tp; }
  int target_tp_rank() const { return rank % target_tp; }
  int target_dp_rank() const { return rank / target_tp; }
  int draft_tp_rank() const { return rank % draft_tp; }
  int draft_dp_rank() const { return rank / draft_tp; }

  // World ranks of this rank's groups, ascending.
  std::vector<int> target_tp_group() const { return block(target_tp); }
  std::vector<int> target_dp_group() const { return stride(target_tp); }
  std::vector<int> draft_tp_group() const { return block(draft_tp); }
  std::vector<int> draft_dp_group() const { return stride(draft_tp); }

  // The draft-DP positions whose samples this rank's target-TP group
  // computes features for: those of its members, ascending.
  std::vector<int> draft_dp_ranks_of_target_group() const;

 private:
  std::vector<int> block(int size) const;   // the `size` consecutive ranks around this one
  std::vector<int> stride(int size) const;  // ranks congruent to this one mod `size`
};

}  // namespace talon::parallel
