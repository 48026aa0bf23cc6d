#include "talon/model/target_distribution.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "talon/model/layers.h"
#include "talon/parallel/tensor_parallel.h"
#include "talon/util/error.h"

namespace talon::model {

at::Tensor DraftVocab::target_ids() const { return at::arange(d2t.size(0), d2t.options()) + d2t; }

at::Tensor draft_head_rows(const at::Tensor& lm_head, const DraftVocab& vocab) {
  return lm_head.index_select(0, vocab.target_ids().to(lm_head.device()));
}

namespace {

// The largest logit of each row and its index, [N] each.
std::pair<at::Tensor, at::Tensor> max_over_vocab(const at::Tensor& hidden, const at::Tensor& lm_head,
                                                 std::int64_t vocab_chunk) {
  const std::int64_t vocab = lm_head.size(0);
  at::Tensor best_value, best_index;
  for (std::int64_t start = 0; start < vocab; start += vocab_chunk) {
    const std::int64_t size = std::min(vocab_chunk, vocab - start);
    auto [value, index] = at::linear(hidden, lm_head.narrow(0, start, size)).max(-1);
    index = index + start;
    if (!best_value.defined()) {
      best_value = value;
      best_index = index;
      continue;
    }
    // Strictly greater: on a tie the earlier chunk, holding the lower index, wins.
    at::Tensor better = value > best_value;
    best_value = at::where(better, value, best_value);
    best_index = at::where(better, index, best_index);
  }
  return {best_value, best_index};
}

}  // namespace

ArgmaxBlock argmax_block(std::int64_t rows, std::int64_t hidden) {
  constexpr std::int64_t kMaxRows = 2048, kMaxChunk = 16384, kMinLogits = std::int64_t{1} << 20;
  const std::int64_t block_rows = std::clamp<std::int64_t>(rows, 1, kMaxRows);
  const std::int64_t logits = std::clamp(8 * rows * hidden, kMinLogits, kMaxRows * kMaxChunk);
  return {block_rows, std::clamp<std::int64_t>(logits / block_rows, 1, kMaxChunk)};
}

at::Tensor chunked_argmax(const at::Tensor& hidden, const at::Tensor& lm_head, std::int64_t vocab_chunk,
                          std::int64_t rows, const parallel::Group& group) {
  if (vocab_chunk == 0 && rows == 0) {
    const ArgmaxBlock block = argmax_block(hidden.size(0), hidden.size(1));
    rows = block.rows;
    vocab_chunk = block.vocab_chunk;
  }
  if (vocab_chunk <= 0 || rows <= 0) {
    fail("chunked_argmax: block of {} rows x {} logits; both must be positive, or both 0 to size it", rows,
         vocab_chunk);
  }
  std::vector<at::Tensor> values, indices;
  for (std::int64_t start = 0; start < hidden.size(0); start += rows) {
    auto [value, index] =
        max_over_vocab(hidden.narrow(0, start, std::min(rows, hidden.size(0) - start)), lm_head, vocab_chunk);
    values.push_back(value);
    indices.push_back(index);
  }
  // One exchange for all rows: this member's rows start at rank * V / n.
  return parallel::combine_argmax(at::cat(values), at::cat(indices) + group.rank() * lm_head.size(0), group);
}

TargetDistribution target_distribution(const at::Tensor& hidden, const at::Tensor& lm_head,
                                       const at::Tensor& draft_head, const DraftVocab& vocab,
                                       const parallel::Group& target_tp) {
  const std::int64_t batch = hidden.size(0), length = hidden.size(1);
  at::Tensor next = hidden.narrow(1, 1, length - 1).reshape({-1, hidden.size(2)});  // positions 1..L-1
  at::Tensor top = chunked_argmax(next, lm_head, 0, 0, target_tp).view({batch, length - 1});
  at::Tensor t2d = vocab.t2d.to(hidden.device());
  at::Tensor in_draft = t2d.index_select(0, top.flatten()).view({batch, length - 1}).to(at::kFloat);
  // Past the end z = 0: argmax 0.
  at::Tensor last_in_draft = t2d.narrow(0, 0, 1).to(at::kFloat).expand({batch, 1});
  return {hidden, draft_head, at::cat({in_draft, last_in_draft}, 1)};
}

at::Tensor TargetDistribution::probs(std::int64_t first, std::int64_t count, const parallel::Group& tp) const {
  const std::int64_t batch = hidden.size(0), length = hidden.size(1);
  // Row t reads hidden[t + 1]: the first `real` rows have one; past the end z = 0.
  const std::int64_t real = std::clamp<std::int64_t>(length - 1 - first, 0, count);
  std::vector<at::Tensor> logits;
  if (real > 0) logits.push_back(at::linear(hidden.narrow(1, first + 1, real), draft_head));
  if (real < count) logits.push_back(at::zeros({batch, count - real, draft_head.size(0)}, hidden.options()));
  return parallel::vocab_parallel_softmax(logits.size() == 1 ? logits[0] : at::cat(logits, 1), tp);
}

}  // namespace talon::model
