#include "talon/model/target_distribution.h"

#include <ATen/ATen.h>

#include "talon/model/layers.h"

namespace talon::model {

at::Tensor DraftVocab::target_ids() const { return at::arange(d2t.size(0), d2t.options()) + d2t; }

at::Tensor chunked_argmax(const at::Tensor& hidden, const at::Tensor& lm_head, std::int64_t vocab_chunk) {
  const std::int64_t vocab = lm_head.size(0);
  at::Tensor best_value, best_index;
  for (std::int64_t start = 0; start < vocab; start += vocab_chunk) {
    const std::int64_t size = std::min(vocab_chunk, vocab - start);
    at::Tensor logits = at::linear(hidden, lm_head.narrow(0, start, size));  // [N, chunk]
    auto [value, index] = logits.max(-1);
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
  return best_index;
}

TargetDistribution target_distribution(const at::Tensor& hidden, const at::Tensor& lm_head, const DraftVocab& vocab,
                                       std::int64_t vocab_chunk) {
  const std::int64_t batch = hidden.size(0), length = hidden.size(1), draft_vocab = vocab.d2t.size(0);
  at::Tensor next = hidden.narrow(1, 1, length - 1).reshape({-1, hidden.size(2)});  // positions 1..L-1
  at::Tensor draft_rows = lm_head.index_select(0, vocab.target_ids().to(lm_head.device()));
  const at::ScalarType probs_dtype = at_least_fp32(hidden.scalar_type());
  at::Tensor probs = at::softmax(at::linear(next, draft_rows).to(probs_dtype), -1).view({batch, length - 1, draft_vocab});
  at::Tensor top = chunked_argmax(next, lm_head, vocab_chunk).view({batch, length - 1});
  at::Tensor t2d = vocab.t2d.to(hidden.device());
  at::Tensor in_draft = t2d.index_select(0, top.flatten()).view({batch, length - 1}).to(at::kFloat);

  // Past the end z = 0: uniform probabilities, argmax 0.
  at::Tensor uniform_row = at::full({batch, 1, draft_vocab}, 1.0 / static_cast<double>(draft_vocab), probs.options());
  at::Tensor last_in_draft = t2d.narrow(0, 0, 1).to(at::kFloat).expand({batch, 1});
  return {at::cat({probs, uniform_row}, 1), at::cat({in_draft, last_in_draft}, 1)};
}

}  // namespace talon::model
