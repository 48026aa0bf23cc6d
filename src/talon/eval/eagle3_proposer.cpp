#include "talon/eval/eagle3_proposer.h"

#include <ATen/ATen.h>

#include "talon/util/error.h"

namespace talon::eval {

Eagle3Proposer::Eagle3Proposer(const model::Eagle3Draft& draft, const at::Tensor& d2t, const TreeShape& shape,
                               std::int64_t rows)
    : draft_(draft), d2t_(d2t.to(draft.fc.device(), at::kLong)), shape_(shape), cache_(rows) {
  shape_.check();
  if (shape_.topk > draft.lm_head.size(0)) {
    fail("--speculative-eagle-topk {} is more than the draft's vocabulary of {} tokens", shape_.topk,
         draft.lm_head.size(0));
  }
}

void Eagle3Proposer::observe(const std::vector<at::Tensor>& aux, const std::vector<Tokens>& next) {
  const std::int64_t rows = cache_.rows();
  if (static_cast<std::int64_t>(aux.size()) != rows || next.size() != aux.size()) {
    fail("eagle3 proposer: observing {} and {} rows, the batch has {}", aux.size(), next.size(), rows);
  }
  cache_.discard_unsettled();
  std::int64_t width = 0;
  for (const Tokens& t : next) width = std::max(width, static_cast<std::int64_t>(t.size()));
  // Rows padded to the longest; the padding settles as holes.
  at::Tensor features = at::zeros({rows, width, aux.front().size(-1)}, draft_.fc.options());
  at::Tensor ids = at::zeros({rows, width}, at::kLong);
  std::vector<std::vector<std::int64_t>> kept(next.size());
  std::vector<std::int64_t> last;
  for (std::int64_t b = 0; b < rows; ++b) {
    const Tokens& tokens = next[static_cast<std::size_t>(b)];
    const auto n = static_cast<std::int64_t>(tokens.size());
    features[b].narrow(0, 0, n).copy_(aux[static_cast<std::size_t>(b)]);
    ids[b].narrow(0, 0, n).copy_(at::tensor(tokens, at::kLong));
    for (std::int64_t i = 0; i < n; ++i) kept[static_cast<std::size_t>(b)].push_back(i);
    last.push_back(n - 1);
  }
  const at::Tensor hidden = model::fuse_aux(draft_, features), input_ids = ids.to(features.device());
  // The first observation (the prompts) goes into an empty cache with plain
  // causal attention, which right padding leaves exact: no [width, width]
  // mask. Later ones (a few tokens) are masked: a row's tokens see its
  // earlier ones, its padding only itself.
  auto masked = [&] {
    const at::Tensor columns = at::arange(width, at::kLong);
    const at::Tensor real = columns.unsqueeze(0) <= at::tensor(last, at::kLong).unsqueeze(1);  // [B, width]
    const at::Tensor block =
        (at::ones({width, width}, at::kBool).tril().unsqueeze(0) & real.unsqueeze(2) & real.unsqueeze(1)) |
        at::eye(width, at::kBool).unsqueeze(0);
    const at::Tensor offsets = columns.expand({rows, width});
    return model::draft_extend(draft_, hidden, input_ids, cache_.positions(offsets), cache_.mask(block), cache_.kv());
  };
  const model::DraftStep step =
      cache_.kv().length() == 0 ? model::draft_prefill(draft_, hidden, input_ids, cache_.kv()) : masked();
  cache_.settle(kept);
  const at::Tensor index = at::tensor(last, at::kLong).to(features.device()).view({rows, 1, 1});
  last_ = {step.hidden.gather(1, index.expand({rows, 1, step.hidden.size(2)})),
           step.logits.gather(1, index.expand({rows, 1, step.logits.size(2)}))};
}

std::vector<DraftTree> Eagle3Proposer::propose() {
  const std::int64_t rows = cache_.rows(), k = shape_.topk, hidden = last_.hidden.size(2);
  // The top-k draft tokens of logits [..., Vd]: probabilities and target ids.
  auto top = [&](const at::Tensor& logits) {
    auto [p, index] = at::softmax(logits.to(at::kFloat), -1).topk(k, -1);
    return std::make_pair(p, index + d2t_.index_select(0, index.flatten()).view_as(index));
  };
  auto [p, tokens] = top(last_.logits.select(1, 0));  // [B, k]
  std::vector<at::Tensor> scores = {p}, ids = {tokens}, parents = {at::full({rows, k}, -1, tokens.options())};
  // The k best candidates so far, which the next step extends.
  at::Tensor beam = at::arange(k, tokens.options()).expand({rows, k}), beam_score = p, beam_token = tokens;
  at::Tensor beam_h = last_.hidden.expand({rows, k, hidden});
  std::int64_t offset = k;
  for (std::int64_t s = 1; s < shape_.num_steps; ++s) {
    const at::Tensor branch = at::arange(k, at::kLong);
    const at::Tensor recent = (at::arange(s * k, at::kLong).remainder(k).unsqueeze(0) == branch.unsqueeze(1));
    const model::DraftStep step =
        model::draft_extend(draft_, beam_h, beam_token, cache_.positions(at::full({rows, k}, s - 1, at::kLong)),
                            cache_.mask(recent.expand({rows, k, s * k})), cache_.kv());
    auto [child_p, child_tokens] = top(step.logits);  // [B, k, k]
    const at::Tensor level = (beam_score.unsqueeze(2) * child_p).flatten(1);
    scores.push_back(level);
    ids.push_back(child_tokens.flatten(1));
    parents.push_back(beam.repeat_interleave(k, 1));
    const at::Tensor best = std::get<1>(level.sort(/*stable=*/true, /*dim=*/1, /*descending=*/true)).narrow(1, 0, k);
    beam = best + offset;
    beam_score = level.gather(1, best);
    beam_token = ids.back().gather(1, best);
    beam_h = step.hidden.gather(1, best.div(k, "floor").unsqueeze(2).expand({rows, k, hidden}));
    offset += k * k;
  }
  const at::Tensor all_scores = at::cat(scores, 1).cpu(), all_ids = at::cat(ids, 1).cpu();
  const at::Tensor all_parents = at::cat(parents, 1).cpu();
  std::vector<DraftTree> trees;
  for (std::int64_t b = 0; b < rows; ++b) {
    const at::Tensor s = all_scores[b].contiguous(), t = all_ids[b].contiguous(), q = all_parents[b].contiguous();
    const Candidates c{{s.data_ptr<float>(), s.data_ptr<float>() + s.numel()},
                       {t.data_ptr<std::int64_t>(), t.data_ptr<std::int64_t>() + t.numel()},
                       {q.data_ptr<std::int64_t>(), q.data_ptr<std::int64_t>() + q.numel()}};
    trees.push_back(best_tree(c, shape_.num_draft_tokens - 1));
  }
  return trees;
}

void Eagle3Proposer::keep_rows(const std::vector<std::int64_t>& rows) {
  cache_.keep_rows(rows);
  const at::Tensor index = at::tensor(rows, at::kLong).to(last_.hidden.device());
  last_ = {last_.hidden.index_select(0, index), last_.logits.index_select(0, index)};
}

}  // namespace talon::eval
