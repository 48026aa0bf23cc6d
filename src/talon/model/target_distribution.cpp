#include "talon/model/target_distribution.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "talon/model/layers.h"

namespace talon::model {

at::Tensor DraftVocab::target_ids() const { return at::arange(d2t.size(0), d2t.options()) + d2t; }

at::Tensor draft_head_rows(const at::Tensor& lm_head, const DraftVocab& vocab) {
  return lm_head.index_select(0, vocab.target_ids().to(lm_head.device()));
}

namespace {

at::Tensor argmax_over_vocab(const at::Tensor& hidden, const at::Tensor& lm_head, std::int64_t vocab_chunk) {
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
  return best_index;
}

}  // namespace

at::Tensor chunked_argmax(const at::Tensor& hidden, const at::Tensor& lm_head, std::int64_t vocab_chunk,
                          std::int64_t rows) {
  std::vector<at::Tensor> parts;
  for (std::int64_t start = 0; start < hidden.size(0); start += rows) {
    parts.push_back(argmax_over_vocab(hidden.narrow(0, start, std::min(rows, hidden.size(0) - start)), lm_head,
                                      vocab_chunk));
  }
  return at::cat(parts);
}

TargetDistribution target_distribution(const at::Tensor& hidden, const at::Tensor& lm_head,
                                       const at::Tensor& draft_head, const DraftVocab& vocab) {
  const std::int64_t batch = hidden.size(0), length = hidden.size(1);
  at::Tensor next = hidden.narrow(1, 1, length - 1).reshape({-1, hidden.size(2)});  // positions 1..L-1
  at::Tensor top = chunked_argmax(next, lm_head).view({batch, length - 1});
  at::Tensor t2d = vocab.t2d.to(hidden.device());
  at::Tensor in_draft = t2d.index_select(0, top.flatten()).view({batch, length - 1}).to(at::kFloat);
  // Past the end z = 0: argmax 0.
  at::Tensor last_in_draft = t2d.narrow(0, 0, 1).to(at::kFloat).expand({batch, 1});
  return {hidden, draft_head, at::cat({in_draft, last_in_draft}, 1)};
}

at::Tensor TargetDistribution::probs(std::int64_t first, std::int64_t count) const {
  const std::int64_t batch = hidden.size(0), length = hidden.size(1), draft_vocab = draft_head.size(0);
  const at::ScalarType dtype = at_least_fp32(hidden.scalar_type());
  // Row t reads hidden[t + 1]: the first `real` rows have one, the rest are past the end.
  const std::int64_t real = std::clamp<std::int64_t>(length - 1 - first, 0, count);
  std::vector<at::Tensor> parts;
  if (real > 0) {
    parts.push_back(at::softmax(at::linear(hidden.narrow(1, first + 1, real), draft_head).to(dtype), -1));
  }
  if (real < count) {
    parts.push_back(at::full({batch, count - real, draft_vocab}, 1.0 / static_cast<double>(draft_vocab),
                             hidden.options().dtype(dtype)));
  }
  return parts.size() == 1 ? parts[0] : at::cat(parts, 1);
}

}  // namespace talon::model
