#include "talon/train/training_state.h"

#include <fmt/ranges.h>

#include <filesystem>
#include <vector>

#include "talon/io/safetensors.h"
#include "talon/util/atomic_file.h"
#include "talon/util/error.h"
#include "talon/util/json_file.h"

namespace talon::train {
namespace {

std::string state_json(const std::string& dir) { return dir + "/training_state/state.json"; }
std::string tensors_file(const std::string& dir) { return dir + "/training_state/tensors.safetensors"; }

}  // namespace

void save_training_state(const std::string& dir, const TrainingState& state, const NamedTensors& tensors) {
  std::filesystem::create_directories(dir + "/training_state");
  io::write_safetensors(tensors_file(dir), tensors);
  nlohmann::json j = {{"step", state.step},
                      {"epoch", state.epoch},
                      {"batch_in_epoch", state.batch_in_epoch},
                      {"step_epoch", state.step_epoch},
                      {"skipped_steps", state.skipped_steps},
                      {"settings", state.settings}};
  util::write_file_atomic(state_json(dir), j.dump(2) + "\n");
}

LoadedTrainingState load_training_state(const std::string& dir) {
  const std::string path = state_json(dir);
  nlohmann::json j = util::load_json_file(path);
  LoadedTrainingState out;
  try {
    out.state.step = j.at("step").get<std::int64_t>();
    out.state.epoch = j.at("epoch").get<std::int64_t>();
    out.state.batch_in_epoch = j.at("batch_in_epoch").get<std::int64_t>();
    out.state.step_epoch = j.at("step_epoch").get<std::int64_t>();
    out.state.skipped_steps = j.at("skipped_steps").get<std::int64_t>();
    out.state.settings = j.at("settings");
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not a Talon training state: {}", path, e.what());
  }
  io::SafetensorsFile file = io::SafetensorsFile::open(tensors_file(dir));
  // Read-only views of the mapped file: each rank of a parallel run copies
  // out only its own slices, and the ranks of a machine share the pages.
  for (const io::TensorInfo& info : file.tensors()) out.tensors.emplace_back(info.name, file.tensor(info.name));
  return out;
}

void check_same_settings(const nlohmann::json& saved, const nlohmann::json& now, const std::string& checkpoint) {
  std::vector<std::string> differences;
  for (const auto& [key, value] : now.items()) {
    const nlohmann::json was = saved.contains(key) ? saved.at(key) : nlohmann::json();
    if (was != value) differences.push_back(fmt::format("{}: {} in the checkpoint, {} now", key, was.dump(), value.dump()));
  }
  if (!differences.empty()) {
    fail("cannot resume from {}: the run's settings differ ({}); use the checkpoint's values or --init-draft "
         "to start a new run from its weights",
         checkpoint, fmt::format("{}", fmt::join(differences, "; ")));
  }
}

}  // namespace talon::train
