// The EAGLE-3 draft as SGLang runs it. Each verified position's hidden
// input is fc(the target's aux features there), paired with the embedding
// of the token that follows; the draft keeps their keys and values in a
// BatchCache. A draft step runs on the draft's own h of its parent, one
// position further. As in SGLang, branch j of step s attends to the
// verified positions and to branch j of the earlier steps (SGLang's KV
// slots per branch), which is the parent chain whenever topk is 1. Draft
// steps are discarded by the next observe().
#pragma once

#include "talon/eval/speculative.h"
#include "talon/model/eagle3/draft_decoder.h"

namespace talon::eval {

class Eagle3Proposer : public Proposer {
 public:
  // draft: the whole draft on the target's device and dtype; d2t [Vd] maps
  // draft index i to target id i + d2t[i]; rows: the batch size.
  Eagle3Proposer(const model::Eagle3Draft& draft, const at::Tensor& d2t, const TreeShape& shape, std::int64_t rows);
  void observe(const std::vector<at::Tensor>& aux, const std::vector<Tokens>& next) override;
  std::vector<DraftTree> propose() override;
  void keep_rows(const std::vector<std::int64_t>& rows) override;

 private:
  const model::Eagle3Draft& draft_;
  at::Tensor d2t_;  // on the draft's device
  TreeShape shape_;
  model::BatchCache cache_;
  model::DraftStep last_;  // h and logits [B, 1, ...] at each row's last verified position
};

}  // namespace talon::eval
