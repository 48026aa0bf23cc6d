#include "weight_check_flag.h"

namespace talon::cli {

void add_weight_check_flag(CLI::App& cmd, model::WeightCheck& check) {
  cmd.add_flag_callback(
      "--verify-target-weights", [&check] { check = model::WeightCheck::Full; },
      "Check every element of the target's weights for NaN and infinity while loading (default: 4096 sampled "
      "per tensor); costs one more pass over the weights in memory (about 0.5-1 GB/s per CPU core)");
}

}  // namespace talon::cli
