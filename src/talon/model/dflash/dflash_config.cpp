#include "talon/model/dflash/dflash_config.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>


#include "talon/io/config_fields.h"
#include "talon/util/error.h"
#include "talon/util/json_file.h"

namespace talon::model {

using nlohmann::json;

namespace {

constexpr const char* kDFlashClass = "DFlashDraftModel";

}  // namespace

BlockDraftConfig parse_dflash_config(const json& config, const std::string& source) {
  util::JsonFields fields(config, util::JsonLocation(source));
  if (const json* classes = fields.find("architectures")) {
    if (!classes->is_array() || classes->empty() || (*classes)[0] != kDFlashClass) {
      fields.fail_field("architectures", "[\"DFlashDraftModel\"]");
    }
  }
  if (fields.string("model_type").value_or("qwen3") != "qwen3") fields.fail_field("model_type", "\"qwen3\"");
  BlockDraftConfig c;
  parse_block_backbone(fields, c);
  c.num_target_layers = fields.required_integer("num_target_layers", 1);
  const std::optional<util::JsonFields> dflash = fields.object("dflash_config");
  // block_size at the top level (SGLang, vLLM) or in dflash_config (SGLang); both must agree.
  const std::optional<std::int64_t> top = fields.integer("block_size", 2);
  const std::optional<std::int64_t> inner = dflash ? dflash->integer("block_size", 2) : std::nullopt;
  if (top && inner && *top != *inner) {
    fields.fail_field("block_size", fmt::format("{} as dflash_config.block_size says", *inner));
  }
  if (!top && !inner) fields.fail_missing("block_size");
  c.block_size = top ? *top : *inner;
  c.mask_token_id = -1;
  if (dflash) {
    c.mask_token_id = dflash->integer("mask_token_id", 0).value_or(-1);
    if (const json* ids = dflash->find("target_layer_ids")) {
      if (!ids->is_array() || ids->empty()) dflash->fail_field("target_layer_ids", "a non-empty list of layer ids");
      for (const json& id : *ids) {
        if (!id.is_number_integer()) dflash->fail_field("target_layer_ids", "a non-empty list of layer ids");
        c.target_layer_ids.push_back(id.get<int>());
      }
    }
    // vLLM lets these make the full-attention layers causal; Talon computes
    // DFlash's bidirectional blocks only.
    for (const char* key : {"causal", "is_causal"}) {
      if (dflash->find(key)) dflash->fail_field(key, "absent (Talon trains DFlash's bidirectional blocks)");
    }
  }
  if (c.target_layer_ids.empty()) c.target_layer_ids = default_target_layer_ids(c.num_target_layers, c.num_hidden_layers);
  // vLLM's copy of the ids (input of layer id + 1), when given, must name the same layers.
  if (const json* aux = fields.find("eagle_aux_hidden_state_layer_ids")) {
    json expected = json::array();
    for (int id : c.target_layer_ids) expected.push_back(id + 1);
    if (*aux != expected) {
      fields.fail_field("eagle_aux_hidden_state_layer_ids",
                        fmt::format("{} (dflash_config.target_layer_ids + 1)", expected.dump()));
    }
  }
  BlockDraftConfig checked = c;
  if (checked.mask_token_id < 0) checked.mask_token_id = 0;  // checked when resolved
  check_block_draft_config(checked, source);
  return c;
}

BlockDraftConfig load_dflash_config(const std::string& path) {
  const std::string file = io::config_file(path);
  return parse_dflash_config(util::load_json_file(file), file);
}

json dflash_config_json(const BlockDraftConfig& c) {
  json out = block_backbone_json(c);
  out["architectures"] = json::array({kDFlashClass});
  out["block_size"] = c.block_size;
  out["num_target_layers"] = c.num_target_layers;
  out["dflash_config"] = {
      {"target_layer_ids", c.target_layer_ids}, {"mask_token_id", c.mask_token_id}, {"block_size", c.block_size}};
  json aux = json::array();
  for (int id : c.target_layer_ids) aux.push_back(id + 1);
  out["eagle_aux_hidden_state_layer_ids"] = aux;
  return out;
}

}  // namespace talon::model
