#include "talon/eval/block_proposer.h"

#include <ATen/ATen.h>

#include "talon/util/error.h"

namespace talon::eval {

BlockProposer::BlockProposer(const model::BlockDraft& draft, BlockDrafter drafter, std::int64_t rows)
    : draft_(draft), drafter_(std::move(drafter)), contexts_(static_cast<std::size_t>(rows), model::BlockContext(draft)),
      anchors_(static_cast<std::size_t>(rows), 0) {}

void BlockProposer::observe(const std::vector<at::Tensor>& aux, const std::vector<Tokens>& next) {
  if (aux.size() != contexts_.size() || next.size() != contexts_.size()) {
    fail("block proposer: observing {} and {} rows, the batch has {}", aux.size(), next.size(), contexts_.size());
  }
  for (std::size_t b = 0; b < contexts_.size(); ++b) {
    if (next[b].empty()) continue;
    contexts_[b].append(aux[b]);
    anchors_[b] = next[b].back();
  }
}

std::vector<DraftTree> BlockProposer::propose() {
  const std::int64_t bs = draft_.config.block_size;
  std::vector<DraftTree> trees;
  for (std::size_t b = 0; b < contexts_.size(); ++b) {
    at::Tensor ids = at::full({bs}, draft_.config.mask_token_id, at::kLong);
    ids[0] = anchors_[b];
    DraftTree tree;
    tree.tokens = drafter_(contexts_[b].block(ids), anchors_[b]);
    for (std::size_t i = 0; i < tree.tokens.size(); ++i) tree.parents.push_back(static_cast<std::int64_t>(i) - 1);
    trees.push_back(std::move(tree));
  }
  return trees;
}

void BlockProposer::keep_rows(const std::vector<std::int64_t>& rows) {
  std::vector<model::BlockContext> contexts;
  Tokens anchors;
  for (std::int64_t row : rows) {
    contexts.push_back(contexts_.at(static_cast<std::size_t>(row)));
    anchors.push_back(anchors_.at(static_cast<std::size_t>(row)));
  }
  contexts_ = std::move(contexts);
  anchors_ = std::move(anchors);
}

}  // namespace talon::eval
