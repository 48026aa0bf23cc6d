// Learning rate per optimizer step (brief §2): linear warmup over W steps,
// then half a cosine from base down to 0 at total_steps.
#pragma once

#include <cstdint>

namespace talon::train {

struct LrSchedule {
  // warmup_steps = int(warmup_ratio * total_steps), truncated as Python's
  // int() does. Throws talon::Error for a negative base_lr or total_steps or
  // a warmup_ratio outside [0, 1].
  LrSchedule(double base_lr, std::int64_t total_steps, double warmup_ratio);

  // Optimizer step k >= 0: base * (k + 1) / W while k < W, then
  // base * (1 + cos(pi * (k - W) / (total - W))) / 2, and 0 from total on.
  double at(std::int64_t k) const;

  double base_lr;
  std::int64_t total_steps;
  std::int64_t warmup_steps;
};

}  // namespace talon::train
