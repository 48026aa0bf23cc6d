#include "talon/parallel/layout.h"

#include "talon/util/error.h"

namespace talon::parallel {

void Layout::validate() const {
  if (target_tp < 1 || world % target_tp != 0) {
    fail("--tp-size {} must divide the world size {}", target_tp, world);
  }
  if (draft_tp < 1 || world % draft_tp != 0) {
    fail("--draft-tp-size {} must divide the world size {}", draft_tp, world);
  }
}

std::vector<int> Layout::block(int size) const {
  std::vector<int> ranks;
  for (int r = rank - rank % size; r < rank - rank % size + size; ++r) ranks.push_back(r);
  return ranks;
}

std::vector<int> Layout::stride(int size) const {
  std::vector<int> ranks;
  for (int r = rank % size; r < world; r += size) ranks.push_back(r);
  return ranks;
}

std::vector<int> Layout::draft_dp_ranks_of_target_group() const {
  std::vector<int> positions;
  for (int r : target_tp_group()) {
    const int position = r / draft_tp;
    if (positions.empty() || positions.back() != position) positions.push_back(position);
  }
  return positions;
}

}  // namespace talon::parallel
