// AdamW as PyTorch's torch.optim.AdamW computes it (the single-tensor path,
// no amsgrad), over named fp32 tensors updated in place. For step t:
//   p *= 1 - lr * wd
//   m = lerp(m, g, 1 - beta1)            (= beta1 m + (1 - beta1) g)
//   v = beta2 v + (1 - beta2) g g
//   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// with the tensor operations of PyTorch 2.x's single-tensor path in the same
// order, so a step rounds as that path does on the same device.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "talon/io/safetensors.h"

namespace talon::train {

using io::NamedTensors;

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

class AdamW {
 public:
  // params: fp32 tensors, each updated in place from its .grad(); names are
  // unique and name the state tensors. m and v start at zero.
  explicit AdamW(NamedTensors params, AdamWOptions options = {});

  // One update at learning rate lr. Params whose grad is undefined are left
  // alone; the step count t advances once per call for all (one count, where
  // PyTorch keeps one per param and does not advance a skipped one).
  void step(double lr);

  std::int64_t steps() const { return step_; }
  const NamedTensors& params() const { return params_; }
  const AdamWOptions& options() const { return options_; }

  // "step" (0-dim int64), then "exp_avg.<name>" and "exp_avg_sq.<name>" per
  // param. The live tensors, not copies: save or clone them before the next
  // step.
  NamedTensors state() const;
  // Takes a state() from an optimizer over the same params. Every tensor must
  // be present with the same shape and dtype, and nothing else; otherwise a
  // talon::Error names the tensor and nothing is changed. Copies values, so
  // continuing gives bit-identical results to never having stopped.
  void load_state(const NamedTensors& state);

 private:
  NamedTensors params_;
  AdamWOptions options_;
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_;  // per param, same shape and device
  std::int64_t step_ = 0;
};

}  // namespace talon::train
