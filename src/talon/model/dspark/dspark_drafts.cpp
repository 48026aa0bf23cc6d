#include "talon/model/dspark/dspark_drafts.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

namespace talon::model {

std::vector<std::int64_t> dspark_drafts(const at::Tensor& lm_head, const MarkovHead& head, const at::Tensor& hidden,
                                        std::int64_t anchor) {
  at::NoGradGuard no_grad;
  const at::Tensor base = at::linear(hidden, lm_head.to(hidden.scalar_type()));  // [gamma, V]
  const at::TensorOptions longs = at::TensorOptions().dtype(at::kLong).device(hidden.device());
  at::Tensor state = markov_initial_state(head, hidden.narrow(0, 0, 1));
  std::int64_t previous = anchor;
  std::vector<std::int64_t> drafts;
  for (std::int64_t k = 0; k < hidden.size(0); ++k) {
    MarkovStep step = markov_step(head, state, at::full({1}, previous, longs), hidden.narrow(0, k, 1));
    state = step.state;
    previous = (base.narrow(0, k, 1) + step.bias.to(base.scalar_type())).argmax(-1).item<std::int64_t>();
    drafts.push_back(previous);
  }
  return drafts;
}

}  // namespace talon::model
