#include "talon/model/block/block_check.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <optional>
#include <set>

#include "talon/io/safetensors.h"
#include "talon/model/block/block_draft.h"
#include "talon/model/dflash/dflash_config.h"
#include "talon/model/dspark/dspark_config.h"
#include "talon/util/error.h"
#include "talon/util/json_file.h"

namespace talon::model {

DraftCheck check_block_draft_for_engines(const std::string& dir, Strategy strategy, const io::TargetConfig& target,
                                         const std::string& target_name) {
  DraftCheck check;
  const std::string config_file = dir + "/config.json", weights_file = dir + "/model.safetensors";
  DSparkConfig c;
  try {
    const nlohmann::json raw = util::load_json_file(config_file);
    if (strategy == Strategy::DSpark) {
      c = parse_dspark_config(raw, config_file);
    } else {
      c.backbone = parse_dflash_config(raw, config_file);
    }
  } catch (const Error& e) {
    check.problems.push_back(e.what());
    return check;
  }
  const BlockDraftConfig& b = c.backbone;
  auto problem = [&](std::string text) { check.problems.push_back(std::move(text)); };
  if (b.mask_token_id < 0) problem(fmt::format("{}: no mask_token_id: SGLang requires one", config_file));
  if (b.hidden_size != target.hidden_size) {
    problem(fmt::format("{}: hidden_size {} but {}'s is {}: the engines run the draft on the target's embedding",
                        config_file, b.hidden_size, target_name, target.hidden_size));
  }
  if (b.vocab_size != target.vocab_size) {
    problem(fmt::format("{}: vocab_size {} but {}'s is {}", config_file, b.vocab_size, target_name, target.vocab_size));
  }
  if (b.num_target_layers != target.num_hidden_layers) {
    problem(fmt::format("{}: num_target_layers {} but {} has {} layers", config_file, b.num_target_layers,
                        target_name, target.num_hidden_layers));
  }
  std::map<std::string, std::vector<std::int64_t>> expected;
  for (auto& [name, shape] : BlockDraft::parameter_shapes(b)) expected[name] = shape;
  if (strategy == Strategy::DSpark) {
    for (auto& [name, shape] : MarkovHead::parameter_shapes(c.markov, b.vocab_size, b.hidden_size)) {
      expected[name] = shape;
    }
  }
  std::optional<io::SafetensorsFile> weights;
  try {
    weights = io::SafetensorsFile::open(weights_file);
  } catch (const Error& e) {
    problem(e.what());
    return check;
  }
  std::set<std::string> seen;
  // DeepSpec ships frozen copies of the target's embedding and lm_head; the engines take the target's.
  const std::set<std::string> skipped = {"embed_tokens.weight", "lm_head.weight"};
  for (const io::TensorInfo& info : weights->tensors()) {
    seen.insert(info.name);
    auto it = expected.find(info.name);
    if (it == expected.end()) {
      if (!skipped.count(info.name)) {
        problem(fmt::format("{}: tensor {} is not one the engines load: SGLang would skip it", weights_file, info.name));
      }
    } else if (info.shape != it->second) {
      problem(fmt::format("{}: tensor {} has shape [{}], expected [{}] from {}", weights_file, info.name,
                          fmt::join(info.shape, ", "), fmt::join(it->second, ", "), config_file));
    }
  }
  for (const auto& [name, shape] : expected) {
    if (!seen.count(name)) {
      problem(fmt::format("{}: tensor {} is missing: the engines would serve it uninitialised", weights_file, name));
    }
  }
  if (check.problems.empty()) {
    check.checked = fmt::format("{} draft: {} layers, block size {}, target layers [{}], mask token {}, {} tensors",
                                strategy_name(strategy), b.num_hidden_layers, b.block_size,
                                fmt::join(b.target_layer_ids, ", "), b.mask_token_id, expected.size());
  }
  return check;
}

}  // namespace talon::model
