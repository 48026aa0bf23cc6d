// --verify-target-weights, one flag for every command that loads a target
// (train, cache, eval, regenerate).
#pragma once

#include <CLI/CLI.hpp>

#include "talon/model/weight_check.h"

namespace talon::cli {

// Sets `check` to WeightCheck::Full when given; it stays Sampled otherwise.
void add_weight_check_flag(CLI::App& cmd, model::WeightCheck& check);

}  // namespace talon::cli
