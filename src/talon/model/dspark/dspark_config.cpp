#include "talon/model/dspark/dspark_config.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>


#include "talon/io/config_fields.h"
#include "talon/util/error.h"
#include "talon/util/json_file.h"

namespace talon::model {

using nlohmann::json;

namespace {

constexpr const char* kDSparkClass = "Qwen3DSparkModel";

// A field under its name, or SGLang's prefixed bundle name; not both.
const char* key_of(const util::JsonFields& fields, const char* name, const char* bundle_name) {
  if (fields.find(name) && fields.find(bundle_name)) {
    fields.fail_field(bundle_name, fmt::format("absent beside {}", name));
  }
  return fields.find(bundle_name) ? bundle_name : name;
}

std::vector<int> layer_ids(const util::JsonFields& fields, const char* key) {
  std::vector<int> ids;
  const json* value = fields.find(key);
  if (value == nullptr) return ids;
  if (!value->is_array() || value->empty()) fields.fail_field(key, "a non-empty list of layer ids");
  for (const json& id : *value) {
    if (!id.is_number_integer()) fields.fail_field(key, "a non-empty list of layer ids");
    ids.push_back(id.get<int>());
  }
  return ids;
}

}  // namespace

DSparkConfig parse_dspark_config(const json& config, const std::string& source) {
  util::JsonFields fields(config, util::JsonLocation(source));
  if (const json* classes = fields.find("architectures")) {
    if (!classes->is_array() || classes->empty() || (*classes)[0] != kDSparkClass) {
      fields.fail_field("architectures",
                        "[\"Qwen3DSparkModel\"] (SpecForge's DSparkDraftModel is its training form: SGLang reads "
                        "Qwen3DSparkModel, and vLLM serves DSparkDraftModel as DeepSeek-V4's draft)");
    }
  }
  if (fields.string("speculators_model_type").value_or("") == "dspark") {
    fields.fail_field("speculators_model_type", "absent (speculators' DSpark shifts its slots otherwise; design §7)");
  }
  if (std::optional<util::JsonFields> dflash = fields.object("dflash_config")) {
    if (dflash->find("markov_rank")) {
      dflash->fail_field("markov_rank", "at the top level, where SGLang reads it (SpecForge's training form)");
    }
  }
  DSparkConfig c;
  BlockDraftConfig& b = c.backbone;
  parse_block_backbone(fields, b);
  b.num_target_layers = fields.required_integer("num_target_layers", 1);
  b.block_size = fields.required_integer(key_of(fields, "block_size", "dspark_block_size"), 2);
  b.mask_token_id = fields.integer(key_of(fields, "mask_token_id", "dspark_noise_token_id"), 0).value_or(-1);
  b.num_anchors = fields.integer("num_anchors", 1).value_or(512);
  b.target_layer_ids = layer_ids(fields, key_of(fields, "target_layer_ids", "dspark_target_layer_ids"));
  if (b.target_layer_ids.empty()) b.target_layer_ids = default_target_layer_ids(b.num_target_layers, b.num_hidden_layers);

  c.markov.rank = fields.required_integer(key_of(fields, "markov_rank", "dspark_markov_rank"), 1);
  c.markov.type = fields.choice<MarkovHeadType>(
      "markov_head_type",
      {{"vanilla", MarkovHeadType::Vanilla}, {"gated", MarkovHeadType::Gated}, {"rnn", MarkovHeadType::Rnn}})
                      .value_or(MarkovHeadType::Vanilla);
  c.markov.confidence_head = fields.boolean("enable_confidence_head").value_or(true);
  c.markov.confidence_with_markov = c.markov.confidence_head && fields.boolean("confidence_head_with_markov").value_or(true);
  BlockDraftConfig checked = b;
  if (checked.mask_token_id < 0) checked.mask_token_id = 0;  // checked when resolved
  check_block_draft_config(checked, source);
  return c;
}

DSparkConfig load_dspark_config(const std::string& path) {
  const std::string file = io::config_file(path);
  return parse_dspark_config(util::load_json_file(file), file);
}

json dspark_config_json(const DSparkConfig& c) {
  const BlockDraftConfig& b = c.backbone;
  json out = block_backbone_json(b);
  out["architectures"] = json::array({kDSparkClass});
  out["block_size"] = b.block_size;
  out["target_layer_ids"] = b.target_layer_ids;
  out["mask_token_id"] = b.mask_token_id;
  out["num_target_layers"] = b.num_target_layers;
  out["num_anchors"] = b.num_anchors;
  out["markov_rank"] = c.markov.rank;
  out["markov_head_type"] = markov_head_type_name(c.markov.type);
  out["enable_confidence_head"] = c.markov.confidence_head;
  out["confidence_head_with_markov"] = c.markov.confidence_with_markov;
  return out;
}

}  // namespace talon::model
