#include "talon/model/eagle3/draft_checkpoint.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "talon/io/safetensors.h"
#include "talon/io/safetensors_model.h"
#include "talon/io/torch_state_dict.h"
#include "talon/model/target_model.h"
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

namespace {

constexpr const char* kTorchWeights = "pytorch_model.bin";

// The draft's tensors by name, from whichever files hold them; `source`
// becomes the path that messages name.
NamedTensors read_draft_weights(const std::string& dir, std::string& source) {
  const std::filesystem::path root(dir);
  if (std::filesystem::exists(root / "model.safetensors.index.json") ||
      std::filesystem::exists(root / "model.safetensors")) {
    const io::SafetensorsModel model = io::SafetensorsModel::open(dir);
    const bool sharded = std::filesystem::exists(root / "model.safetensors.index.json");
    source = (root / (sharded ? "model.safetensors.index.json" : "model.safetensors")).string();
    NamedTensors tensors;
    for (const std::string& name : model.names()) tensors.emplace_back(name, model.tensor(name));
    return tensors;
  }
  if (std::filesystem::exists(root / kTorchWeights)) {
    source = (root / kTorchWeights).string();
    return io::read_torch_state_dict(source);
  }
  fail("{}: no draft weights: expected model.safetensors, model.safetensors.index.json or {}", dir, kTorchWeights);
}

}  // namespace

DraftCheckpoint load_draft_checkpoint(const std::string& dir, const std::optional<TargetLmHead>& target) {
  check_draft_checkpoint_intact(dir);
  DraftCheckpoint out;
  const std::string config_path = dir + "/config.json";
  out.config = io::load_draft_config(config_path);
  const bool head_from_target = out.config.lm_head_from_target;
  std::set<std::string> known;
  for (const auto& [name, value] : Eagle3Draft{}.parameters()) known.insert(name);
  for (auto& [name, tensor] : read_draft_weights(dir, out.weights)) {
    if (name == "d2t") {
      out.d2t = tensor;
    } else if (name == "t2d") {
      out.t2d = tensor;
    } else if (name == "embed_tokens.weight" || (head_from_target && name == "lm_head.weight")) {
      continue;  // the target's, as the engines serve it
    } else if (known.count(name)) {
      out.parameters.emplace_back(name, tensor);
    } else {
      fail("{}: unexpected tensor {} in a draft checkpoint (expected the EAGLE-3 draft tensors of brief §3)",
           out.weights, name);
    }
  }
  if (head_from_target) {
    if (!target) {
      fail("{}: no draft_vocab_size, so the draft's lm_head is the target's (as SGLang serves it); a target "
           "model is needed to read it",
           config_path);
    }
    const at::Tensor rows = at::arange(out.config.vocab_size, at::kLong);
    out.parameters.emplace_back("lm_head.weight",
                                read_target_rows(target->target_model_path, TargetMatrix::LmHead, rows,
                                                 at::Device(at::kCPU), target->dtype, target->check));
  }
  Eagle3Draft::check_whole_shapes(out.config, out.parameters, out.weights);
  return out;
}

}  // namespace talon::model
