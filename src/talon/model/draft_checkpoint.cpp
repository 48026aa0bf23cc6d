#include "talon/model/draft_checkpoint.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>
#include <set>

#include "talon/io/safetensors.h"
#include "talon/util/atomic_file.h"
#include "talon/util/error.h"
#include "talon/util/output_manifest.h"

namespace talon::model {

void save_draft_checkpoint(const std::string& dir, const io::DraftConfig& config, const NamedTensors& parameters,
                           const DraftVocab& vocab) {
  util::write_file_atomic(dir + "/config.json", io::to_json(config).dump(2) + "\n");
  NamedTensors tensors;
  for (const auto& [name, value] : parameters) tensors.emplace_back(name, value.detach().to(at::kBFloat16));
  tensors.emplace_back("d2t", vocab.d2t.to(at::kLong));
  tensors.emplace_back("t2d", vocab.t2d.to(at::kBool));
  io::write_safetensors(dir + "/model.safetensors", tensors);
}

void check_draft_checkpoint_intact(const std::string& dir) {
  // A draft from SpecForge or a Hugging Face repository has no manifest:
  // only Talon's own checkpoints can be verified.
  const std::optional<std::vector<std::string>> damaged = util::damaged_files(dir);
  if (damaged && !damaged->empty()) {
    fail("draft checkpoint {} is damaged: {}: restore it from a copy", dir, fmt::join(*damaged, "; "));
  }
}

DraftCheckpoint load_draft_checkpoint(const std::string& dir) {
  check_draft_checkpoint_intact(dir);
  DraftCheckpoint out;
  out.config = io::load_draft_config(dir + "/config.json");
  const std::string path = dir + "/model.safetensors";
  io::SafetensorsFile file = io::SafetensorsFile::open(path);
  std::set<std::string> known;
  for (const auto& [name, value] : Eagle3Draft{}.parameters()) known.insert(name);
  for (const io::TensorInfo& info : file.tensors()) {
    if (known.count(info.name)) {
      out.parameters.emplace_back(info.name, file.tensor(info.name));
    } else if (info.name != "d2t" && info.name != "t2d" && info.name != "embed_tokens.weight") {
      fail("{}: unexpected tensor {} in a draft checkpoint (expected the EAGLE-3 draft tensors of brief §3)", path,
           info.name);
    }
  }
  Eagle3Draft::check_whole_shapes(out.config, out.parameters, path);
  return out;
}

}  // namespace talon::model
