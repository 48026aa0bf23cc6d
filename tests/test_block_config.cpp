// The block drafters' config.json files (model/dflash/dflash_config.h,
// model/dspark/dspark_config.h): published configs read as the engines
// read them, Talon's own written so that they read back the same, and the
// fields Talon does not compute refused by name.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "talon/model/block/block_config.h"
#include "talon/model/dflash/dflash_config.h"
#include "talon/model/dspark/dspark_config.h"
#include "test_support.h"

namespace talon::model {
namespace {

using nlohmann::json;
using testing::error_of;

// SpecForge's configs/qwen3-8b-dflash.json as design §2.1 describes it.
json qwen3_8b_dflash() {
  return {{"architectures", {"DFlashDraftModel"}},
          {"model_type", "qwen3"},
          {"hidden_size", 4096},
          {"intermediate_size", 12288},
          {"num_hidden_layers", 5},
          {"num_attention_heads", 32},
          {"num_key_value_heads", 8},
          {"head_dim", 128},
          {"vocab_size", 151936},
          {"max_position_embeddings", 40960},
          {"rms_norm_eps", 1e-6},
          {"rope_theta", 1000000},
          {"hidden_act", "silu"},
          {"attention_bias", false},
          {"tie_word_embeddings", false},
          {"block_size", 16},
          {"num_target_layers", 36},
          {"dflash_config", {{"target_layer_ids", {1, 9, 17, 25, 33}}, {"mask_token_id", 151669}}},
          {"torch_dtype", "bfloat16"}};
}

// DeepSpec's dspark_qwen3_8b recipe as a Qwen3DSparkModel config (design §3.5).
json qwen3_8b_dspark() {
  json c = qwen3_8b_dflash();
  c.erase("dflash_config");
  c["architectures"] = {"Qwen3DSparkModel"};
  c["block_size"] = 7;
  c["target_layer_ids"] = {1, 9, 17, 25, 33};
  c["mask_token_id"] = 151669;
  c["num_anchors"] = 512;
  c["markov_rank"] = 256;
  c["markov_head_type"] = "vanilla";
  c["enable_confidence_head"] = true;
  c["confidence_head_with_markov"] = true;
  return c;
}

TEST(DFlashConfig, ReadsSpecForgesQwen3Config) {
  const BlockDraftConfig c = parse_dflash_config(qwen3_8b_dflash(), "config.json");
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.num_hidden_layers, 5);
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.block_size, 16);
  EXPECT_EQ(c.mask_token_id, 151669);
  EXPECT_EQ(c.target_layer_ids, (std::vector<int>{1, 9, 17, 25, 33}));
  EXPECT_EQ(c.rope_theta, 1e6);
  EXPECT_EQ(c.sliding, std::vector<bool>(5, false));
}

TEST(DFlashConfig, WrittenAsTheEnginesReadItAndReadBack) {
  json in = qwen3_8b_dflash();
  in["layer_types"] = {"sliding_attention", "sliding_attention", "full_attention", "sliding_attention",
                       "full_attention"};
  in["sliding_window"] = 2048;
  const BlockDraftConfig c = parse_dflash_config(in, "config.json");
  const json out = dflash_config_json(c);
  EXPECT_EQ(out["architectures"], json({"DFlashDraftModel"}));
  EXPECT_EQ(out["model_type"], "qwen3");
  EXPECT_EQ(out["block_size"], 16);
  EXPECT_EQ(out["dflash_config"]["block_size"], 16);
  EXPECT_EQ(out["dflash_config"]["mask_token_id"], 151669);
  EXPECT_EQ(out["dflash_config"]["target_layer_ids"], json({1, 9, 17, 25, 33}));
  EXPECT_EQ(out["eagle_aux_hidden_state_layer_ids"], json({2, 10, 18, 26, 34}));  // older vLLM: input of layer id + 1
  EXPECT_EQ(out["layer_types"], in["layer_types"]);
  EXPECT_EQ(out["sliding_window"], 2048);
  EXPECT_EQ(out["tie_word_embeddings"], false);
  EXPECT_EQ(out["torch_dtype"], "bfloat16");
  const BlockDraftConfig again = parse_dflash_config(out, "written");
  EXPECT_EQ(again.sliding, c.sliding);
  EXPECT_EQ(again.target_layer_ids, c.target_layer_ids);
  EXPECT_EQ(dflash_config_json(again), out);
}

TEST(DFlashConfig, RefusesWhatItDoesNotCompute) {
  auto refused = [](const std::function<void(json&)>& edit) {
    json c = qwen3_8b_dflash();
    edit(c);
    return error_of([&] { parse_dflash_config(c, "draft.json"); });
  };
  EXPECT_NE(refused([](json& c) { c["architectures"] = {"LlamaForCausalLMEagle3"}; }).find("DFlashDraftModel"),
            std::string::npos);
  EXPECT_NE(refused([](json& c) { c["attention_bias"] = true; }).find("attention_bias"), std::string::npos);
  EXPECT_NE(refused([](json& c) { c["hidden_act"] = "gelu"; }).find("hidden_act"), std::string::npos);
  EXPECT_NE(refused([](json& c) { c["dflash_config"]["mask_token_id"] = 151936; }).find("mask_token_id"),
            std::string::npos);
  EXPECT_NE(refused([](json& c) { c["dflash_config"]["target_layer_ids"] = {1, 35}; }).find("target layer id 35"),
            std::string::npos);
  EXPECT_NE(refused([](json& c) { c["layer_types"] = {"full_attention"}; }).find("layer_types"), std::string::npos);
  EXPECT_NE(refused([](json& c) {
              c["layer_types"] = json::array();
              for (int i = 0; i < 5; ++i) c["layer_types"].push_back("sliding_attention");
            }).find("sliding_window"),
            std::string::npos);
  EXPECT_NE(refused([](json& c) { c["dflash_config"]["block_size"] = 8; }).find("block_size"), std::string::npos);
  EXPECT_NE(refused([](json& c) { c.erase("block_size"); }).find("block_size"), std::string::npos);
  EXPECT_NE(refused([](json& c) { c["dflash_config"]["causal"] = true; }).find("causal"), std::string::npos);
  EXPECT_NE(refused([](json& c) { c["eagle_aux_hidden_state_layer_ids"] = {1, 9, 17, 25, 33}; })
                .find("eagle_aux_hidden_state_layer_ids"),
            std::string::npos);
  EXPECT_NE(refused([](json& c) { c["use_sliding_window"] = true; }).find("layer_types"), std::string::npos);
}

// Design §1.3: the published Qwen3 choice, one layer, and Python's round
// (halves to even) on a 30-layer target such as SmolLM2-135M.
TEST(BlockConfig, DefaultTargetLayers) {
  EXPECT_EQ(default_target_layer_ids(36, 5), (std::vector<int>{1, 9, 17, 25, 33}));
  EXPECT_EQ(default_target_layer_ids(36, 1), (std::vector<int>{18}));
  EXPECT_EQ(default_target_layer_ids(30, 5), (std::vector<int>{1, 8, 14, 20, 27}));
  json c = qwen3_8b_dflash();
  c["dflash_config"].erase("target_layer_ids");
  EXPECT_EQ(parse_dflash_config(c, "config.json").target_layer_ids, (std::vector<int>{1, 9, 17, 25, 33}));
}

TEST(DSparkConfig, ReadsDeepSpecsFormAndWritesItBack) {
  const DSparkConfig c = parse_dspark_config(qwen3_8b_dspark(), "config.json");
  EXPECT_EQ(c.backbone.block_size, 7);
  EXPECT_EQ(c.backbone.mask_token_id, 151669);
  EXPECT_EQ(c.backbone.num_anchors, 512);
  EXPECT_EQ(c.backbone.target_layer_ids, (std::vector<int>{1, 9, 17, 25, 33}));
  EXPECT_EQ(c.markov.rank, 256);
  EXPECT_EQ(c.markov.type, MarkovHeadType::Vanilla);
  EXPECT_TRUE(c.markov.confidence_head);
  EXPECT_TRUE(c.markov.confidence_with_markov);
  const json out = dspark_config_json(c);
  EXPECT_EQ(out["architectures"], json({"Qwen3DSparkModel"}));
  for (const char* key : {"block_size", "target_layer_ids", "mask_token_id", "num_target_layers", "num_anchors",
                          "markov_rank", "markov_head_type", "enable_confidence_head", "confidence_head_with_markov"}) {
    EXPECT_EQ(out[key], qwen3_8b_dspark()[key]) << key;  // at the top level, where SGLang reads them
  }
  EXPECT_EQ(dspark_config_json(parse_dspark_config(out, "written")), out);
}

TEST(DSparkConfig, ReadsSGLangsBundleKeys) {
  json c = qwen3_8b_dspark();
  for (const char* key : {"block_size", "markov_rank", "target_layer_ids"}) {
    c[std::string("dspark_") + key] = c[key];
    c.erase(key);
  }
  c["dspark_noise_token_id"] = c["mask_token_id"];
  c.erase("mask_token_id");
  const DSparkConfig parsed = parse_dspark_config(c, "config.json");
  EXPECT_EQ(parsed.backbone.block_size, 7);
  EXPECT_EQ(parsed.markov.rank, 256);
  EXPECT_EQ(parsed.backbone.mask_token_id, 151669);
}

TEST(DSparkConfig, RefusesOtherFormsByName) {
  auto refused = [](const std::function<void(json&)>& edit) {
    json c = qwen3_8b_dspark();
    edit(c);
    return error_of([&] { parse_dspark_config(c, "draft.json"); });
  };
  EXPECT_NE(refused([](json& c) { c["architectures"] = {"DSparkDraftModel"}; }).find("Qwen3DSparkModel"),
            std::string::npos);
  EXPECT_NE(refused([](json& c) { c["speculators_model_type"] = "dspark"; }).find("speculators_model_type"),
            std::string::npos);
  EXPECT_NE(refused([](json& c) {
              c["dflash_config"] = {{"markov_rank", 256}};
              c.erase("markov_rank");
            }).find("markov_rank"),
            std::string::npos);
  EXPECT_NE(refused([](json& c) { c.erase("markov_rank"); }).find("markov_rank"), std::string::npos);
  EXPECT_NE(refused([](json& c) { c["markov_rank"] = 0; }).find("markov_rank"), std::string::npos);
  EXPECT_NE(refused([](json& c) { c["markov_head_type"] = "lstm"; }).find("markov_head_type"), std::string::npos);
  EXPECT_NE(refused([](json& c) { c["dspark_block_size"] = 7; }).find("dspark_block_size"), std::string::npos);
}

}  // namespace
}  // namespace talon::model
