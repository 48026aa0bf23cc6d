#include "talon/train/lr_schedule.h"

#include <cmath>

#include "talon/util/error.h"

namespace talon::train {

namespace {
constexpr double kPi = 3.14159265358979323846;  // math.pi
}

LrSchedule::LrSchedule(double base_lr, std::int64_t total_steps, double warmup_ratio)
    : base_lr(base_lr), total_steps(total_steps), warmup_steps(0) {
  if (!(base_lr >= 0)) fail("learning rate must be >= 0, found {}", base_lr);
  if (total_steps < 0) fail("total optimizer steps must be >= 0, found {}", total_steps);
  if (!(warmup_ratio >= 0 && warmup_ratio <= 1)) fail("warmup ratio must be in [0, 1], found {}", warmup_ratio);
  warmup_steps = static_cast<std::int64_t>(warmup_ratio * static_cast<double>(total_steps));
}

double LrSchedule::at(std::int64_t k) const {
  if (k < 0) fail("learning rate schedule: step {} is negative", k);
  const std::int64_t w = warmup_steps;
  if (k < w) return base_lr * static_cast<double>(k + 1) / static_cast<double>(w);
  if (k >= total_steps) return 0.0;  // also covers total == W
  // Evaluated left to right as the Python expression is.
  return base_lr * (1 + std::cos(kPi * static_cast<double>(k - w) / static_cast<double>(total_steps - w))) / 2;
}

}  // namespace talon::train
