// The tiny example target with random weights of std 0.3, not the config's
// 0.02: with small weights each layer barely changes the residual stream,
// the next token depends on the current one alone, and a decoder that lost
// its context would pass. Written under `tmp` and loaded in fp32.
#pragma once

#include <filesystem>
#include <string>

#include "talon/io/hf_config.h"
#include "talon/io/safetensors.h"
#include "talon/model/target_model.h"
#include "talon/model/target_weights.h"
#include "test_support.h"

namespace talon::testing {

inline model::TargetModel tiny_target_with_wide_weights(const TempDir& tmp) {
  const std::string config = std::string(TALON_SOURCE_DIR) + "/examples/tiny-target-config.json";
  const std::string dir = tmp.file("target");
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(config, dir + "/config.json");
  io::write_safetensors(dir + "/model.safetensors",
                        model::random_target_weights(io::load_target_config(config), 0.3, 3, at::kFloat));
  return model::TargetModel::load(dir, at::kCPU, at::kFloat);
}

}  // namespace talon::testing
