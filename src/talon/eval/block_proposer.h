// A block drafter (DFlash, DSpark) as SGLang and vLLM run it (design
// dflash-dspark.md §2.4, §3.4): each row's context cache holds the draft's
// keys and values of the target features of its verified positions, and
// each round drafts one block after the row's last verified token x0: the
// backbone runs [x0, mask, ...] at the next positions (model/block/
// block_decoder.h), and the method's rule turns the block's hidden states
// into a chain of drafts. The target verifies the chain greedily
// (speculative.h).
#pragma once

#include <functional>
#include <vector>

#include "talon/eval/speculative.h"
#include "talon/model/block/block_decoder.h"

namespace talon::eval {

// A method's drafts from a block's hidden states [bs, H] and x0.
using BlockDrafter = std::function<Tokens(const at::Tensor& hidden, std::int64_t anchor)>;

class BlockProposer : public Proposer {
 public:
  // draft: the backbone on the target's device and dtype; rows: the batch size.
  BlockProposer(const model::BlockDraft& draft, BlockDrafter drafter, std::int64_t rows);
  void observe(const std::vector<at::Tensor>& aux, const std::vector<Tokens>& next) override;
  std::vector<DraftTree> propose() override;
  void keep_rows(const std::vector<std::int64_t>& rows) override;

 private:
  const model::BlockDraft& draft_;
  BlockDrafter drafter_;
  std::vector<model::BlockContext> contexts_;
  Tokens anchors_;  // each row's x0: the token after its last verified position
};

}  // namespace talon::eval
