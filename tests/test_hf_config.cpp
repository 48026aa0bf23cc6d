// config.json parsing against real files (Hugging Face targets, SpecForge's
// draft configs), the llama3 RoPE scaling against a Python reference
// (scripts/goldens/make_rope_golden.py), and the errors for bad fields.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>

#include "talon/io/hf_config.h"
#include "talon/util/atomic_file.h"
#include "talon/util/error.h"
#include "test_support.h"

namespace talon::io {
namespace {

using talon::testing::expect_error;
using talon::testing::TempDir;

namespace fs = std::filesystem;
using nlohmann::json;

std::string config_path(const std::string& name) { return std::string(TALON_TEST_DATA) + "/configs/" + name; }

TEST(TargetConfig, Llama31) {
  TargetConfig c = load_target_config(config_path("llama-3.1-8b-instruct.json"));
  EXPECT_EQ(c.architecture, Architecture::Llama);
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.intermediate_size, 14336);
  EXPECT_EQ(c.num_hidden_layers, 32);
  EXPECT_EQ(c.num_attention_heads, 32);
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.vocab_size, 128256);
  EXPECT_EQ(c.max_position_embeddings, 131072);
  EXPECT_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_EQ(c.rope_theta, 500000.0);
  ASSERT_TRUE(c.rope_scaling.has_value());
  EXPECT_EQ(c.rope_scaling->type, RopeType::Llama3);
  EXPECT_EQ(c.rope_scaling->factor, 8.0);
  EXPECT_EQ(c.rope_scaling->low_freq_factor, 1.0);
  EXPECT_EQ(c.rope_scaling->high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling->original_max_position_embeddings, 8192);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_EQ(c.torch_dtype, DType::BF16);
  EXPECT_EQ(c.bos_token_id, 128000);
  EXPECT_EQ(c.eos_token_ids, (std::vector<std::int64_t>{128001, 128008, 128009}));
}

TEST(TargetConfig, Qwen25HasQkvBiasAndDerivedHeadDim) {
  TargetConfig c = load_target_config(config_path("qwen2.5-7b-instruct.json"));
  EXPECT_EQ(c.architecture, Architecture::Qwen2);
  EXPECT_EQ(c.hidden_size, 3584);
  EXPECT_EQ(c.num_hidden_layers, 28);
  EXPECT_EQ(c.num_attention_heads, 28);
  EXPECT_EQ(c.num_key_value_heads, 4);
  EXPECT_EQ(c.head_dim, 3584 / 28);
  EXPECT_EQ(c.vocab_size, 152064);
  EXPECT_EQ(c.rope_theta, 1e6);
  EXPECT_FALSE(c.rope_scaling.has_value());
  EXPECT_TRUE(c.attention_bias);  // Qwen2 has no attention_bias field: always biased
  EXPECT_FALSE(c.qk_norm);
  EXPECT_EQ(c.eos_token_ids, std::vector<std::int64_t>{151645});
}

TEST(TargetConfig, Qwen3HasQkNormAndExplicitHeadDim) {
  TargetConfig c = load_target_config(config_path("qwen3-8b.json"));
  EXPECT_EQ(c.architecture, Architecture::Qwen3);
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.intermediate_size, 12288);
  EXPECT_EQ(c.num_hidden_layers, 36);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.max_position_embeddings, 40960);
  EXPECT_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_EQ(c.rope_theta, 1e6);
  EXPECT_FALSE(c.rope_scaling.has_value());  // "rope_scaling": null
  EXPECT_TRUE(c.qk_norm);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_EQ(c.vocab_size, 151936);
}

TEST(TargetConfig, DefaultsAndModelDirectory) {
  json minimal = {{"model_type", "llama"},  {"hidden_size", 64},        {"intermediate_size", 128},
                  {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"vocab_size", 100}};
  TargetConfig c = parse_target_config(minimal, "minimal.json");
  EXPECT_EQ(c.num_key_value_heads, 4);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.max_position_embeddings, 2048);  // LlamaConfig's default
  EXPECT_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.torch_dtype, DType::F32);
  EXPECT_FALSE(c.bos_token_id.has_value());
  EXPECT_TRUE(c.eos_token_ids.empty());

  TempDir dir;
  dir.write("config.json", minimal.dump());
  EXPECT_EQ(load_target_config(dir.path().string()).hidden_size, 64);
}

TEST(TargetConfig, TransformersFiveRopeParameters) {
  json config = json::parse(util::read_file(config_path("llama-3.1-8b-instruct.json")));
  json parameters = config["rope_scaling"];
  parameters["rope_theta"] = 500000.0;
  config.erase("rope_scaling");
  config.erase("rope_theta");
  config["rope_parameters"] = parameters;
  TargetConfig c = parse_target_config(config, "v5.json");
  EXPECT_EQ(c.rope_theta, 500000.0);
  ASSERT_TRUE(c.rope_scaling.has_value());
  EXPECT_EQ(c.rope_scaling->type, RopeType::Llama3);
  EXPECT_EQ(c.rope_scaling->factor, 8.0);

  config["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1e6}};
  c = parse_target_config(config, "v5.json");
  EXPECT_EQ(c.rope_theta, 1e6);
  EXPECT_FALSE(c.rope_scaling.has_value());
}

TEST(RopeScaling, TypeKeys) {
  auto linear = parse_rope_scaling(json{{"type", "linear"}, {"factor", 2.0}}, "x.json");
  ASSERT_TRUE(linear.has_value());
  EXPECT_EQ(linear->type, RopeType::Linear);
  EXPECT_EQ(linear->factor, 2.0);
  // "rope_type" wins over the legacy "type", as in transformers.
  auto llama3 = parse_rope_scaling(json{{"type", "linear"},
                                        {"rope_type", "llama3"},
                                        {"factor", 8},
                                        {"low_freq_factor", 1},
                                        {"high_freq_factor", 4},
                                        {"original_max_position_embeddings", 8192}},
                                   "x.json");
  EXPECT_EQ(llama3->type, RopeType::Llama3);
  EXPECT_FALSE(parse_rope_scaling(json{{"rope_type", "default"}}, "x.json").has_value());
  EXPECT_FALSE(parse_rope_scaling(json(nullptr), "x.json").has_value());
}

// Types transformers knows and Talon does not compute fail when the config
// is parsed, target or draft, naming the file, the field and what Talon
// computes; never later, when a draft first runs.
TEST(RopeScaling, TypesTalonDoesNotComputeAreRefusedAtParse) {
  const std::string supported = "expected a RoPE type Talon computes: default, linear or llama3";
  const std::string deepseek = config_path("specforge-deepseek-v2-lite-eagle3.json");
  expect_error([&] { load_draft_config(deepseek); },
               {deepseek + ": field \"rope_scaling.rope_type\": " + supported + ", found \"yarn\""});
  json target = json::parse(util::read_file(config_path("llama-3.1-8b-instruct.json")));
  for (const char* type : {"dynamic", "yarn", "longrope"}) {
    SCOPED_TRACE(type);
    target["rope_scaling"] = {{"rope_type", type}, {"factor", 4.0}};
    expect_error([&] { parse_target_config(target, "t.json"); },
                 {"t.json: field \"rope_scaling.rope_type\": " + supported + ", found \"" + type + "\""});
  }
  // transformers 5's rope_parameters and the legacy "type" key alike.
  json draft = json::parse(util::read_file(config_path("specforge-llama3-8B-eagle3.json")));
  draft["rope_parameters"] = {{"type", "dynamic"}, {"factor", 2.0}, {"rope_theta", 10000.0}};
  expect_error([&] { parse_draft_config(draft, "d.json"); },
               {"d.json: field \"rope_parameters.type\": " + supported + ", found \"dynamic\""});
}

TEST(DraftConfig, SpecForgeLlama3_8B) {
  DraftConfig c = load_draft_config(config_path("specforge-llama3-8B-eagle3.json"));
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.intermediate_size, 14336);
  EXPECT_EQ(c.num_attention_heads, 32);
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.vocab_size, 128256);
  EXPECT_EQ(c.draft_vocab_size, 32000);
  EXPECT_EQ(c.max_position_embeddings, 2048);
  EXPECT_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_EQ(c.rope_theta, 10000.0);  // absent: the default, not the target's 500000
  EXPECT_FALSE(c.rope_scaling.has_value());
  EXPECT_EQ(c.target_hidden_size, 4096);
  EXPECT_FALSE(c.aux_layer_ids.has_value());
}

TEST(DraftConfig, SpecForgeQwen3AndLlama70B) {
  DraftConfig qwen = load_draft_config(config_path("specforge-qwen3-8b-eagle3.json"));
  EXPECT_EQ(qwen.intermediate_size, 12288);
  EXPECT_EQ(qwen.vocab_size, 151936);
  EXPECT_EQ(qwen.rope_theta, 1e6);
  EXPECT_EQ(qwen.max_position_embeddings, 40960);

  DraftConfig llama = load_draft_config(config_path("specforge-llama3-70B-eagle3.json"));
  EXPECT_EQ(llama.hidden_size, 8192);
  EXPECT_EQ(llama.num_attention_heads, 64);
  EXPECT_EQ(llama.rope_theta, 500000.0);
  ASSERT_TRUE(llama.rope_scaling.has_value());
  EXPECT_EQ(llama.rope_scaling->type, RopeType::Llama3);
  EXPECT_EQ(llama.rope_scaling->original_max_position_embeddings, 4096);

  DraftConfig big = load_draft_config(config_path("specforge-qwen3-235B-A22B-eagle3.json"));
  ASSERT_TRUE(big.aux_layer_ids.has_value());
  EXPECT_EQ(*big.aux_layer_ids, (std::array<int, 3>{1, 46, 90}));
}

TEST(DraftConfig, ToJsonIsTheCheckpointConfig) {
  DraftConfig c = load_draft_config(config_path("specforge-llama3-8B-eagle3.json"));
  json expected = json::parse(R"({
    "architectures": ["LlamaForCausalLMEagle3"], "model_type": "llama",
    "hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32,
    "num_key_value_heads": 8, "head_dim": 128, "num_hidden_layers": 1,
    "vocab_size": 128256, "draft_vocab_size": 32000, "tie_word_embeddings": false,
    "hidden_act": "silu", "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "rope_scaling": null,
    "max_position_embeddings": 2048, "torch_dtype": "bfloat16"})");
  EXPECT_EQ(to_json(c), expected);

  c.target_hidden_size = 5120;
  c.aux_layer_ids = std::array<int, 3>{2, 10, 20};
  json extended = to_json(c);
  EXPECT_EQ(extended["target_hidden_size"], 5120);
  EXPECT_EQ(extended["eagle_config"], json::parse(R"({"eagle_aux_hidden_state_layer_ids": [2, 10, 20]})"));
  // vLLM reads the top-level list as input-of-layer ids: SGLang's + 1.
  EXPECT_EQ(extended["eagle_aux_hidden_state_layer_ids"], json::parse("[3, 11, 21]"));
  EXPECT_EQ(extended.size(), expected.size() + 3);
}

// Variants of EAGLE-3 that Talon does not compute are refused by name.
// What --init-draft's config must share with --draft-model-config: every
// field that changes the computation, all differences in one message.
TEST(DraftConfig, SameComputationListsEveryDifference) {
  const json base = json::parse(util::read_file(config_path("specforge-llama3-8B-eagle3.json")));
  const DraftConfig a = parse_draft_config(base, "a.json");
  check_same_draft_computation(a, "A", a, "B", 32, "a against b");
  json changed = base;
  changed["max_position_embeddings"] = 131072;  // not computed with: Talon's RoPE is per position
  check_same_draft_computation(a, "A", parse_draft_config(changed, "b.json"), "B", 32, "a against b");
  changed["rope_theta"] = 500000.0;
  changed["rms_norm_eps"] = 1e-6;
  changed["rope_scaling"] = json::parse(util::read_file(config_path("llama-3.1-8b-instruct.json")))["rope_scaling"];
  changed["eagle_config"] = {{"eagle_aux_hidden_state_layer_ids", {2, 15, 28}}};
  changed["head_dim"] = 64;
  changed["num_attention_heads"] = 64;
  changed["draft_vocab_size"] = 64000;
  changed["target_hidden_size"] = 8192;
  expect_error(
      [&] { check_same_draft_computation(a, "A", parse_draft_config(changed, "b.json"), "B", 32, "a against b"); },
      {"a against b: the configs differ in what the draft computes: num_attention_heads: A 32, B 64; head_dim: A "
       "128, B 64; draft_vocab_size: A 32000, B 64000; target_hidden_size: A 4096, B 8192; rms_norm_eps: A 1e-05, B "
       "1e-06; rope_theta: A 10000, B 500000; rope_scaling: A none, B "
       "{\"factor\":8.0,\"high_freq_factor\":4.0,\"low_freq_factor\":1.0,\"original_max_position_embeddings\":"
       "8192,\"rope_type\":\"llama3\"}; aux layer ids: A [1, 15, 28], B [2, 15, 28]"});
}

// EAGLE-3.1 (design dflash-dspark.md §5): read, written only when set, and
// part of what a draft computes.
TEST(DraftConfig, Eagle31FlagsAreReadWrittenAndCompared) {
  const DraftConfig plain = load_draft_config(config_path("specforge-llama3-8B-eagle3.json"));
  json raw = to_json(plain);
  EXPECT_FALSE(raw.contains("fc_norm"));
  EXPECT_FALSE(raw.contains("norm_output"));
  raw["fc_norm"] = true;
  raw["norm_output"] = true;
  const DraftConfig e31 = parse_draft_config(raw, "c.json");
  EXPECT_TRUE(e31.fc_norm);
  EXPECT_TRUE(e31.norm_output);
  EXPECT_EQ(to_json(e31)["fc_norm"], true);
  EXPECT_EQ(to_json(e31)["norm_output"], true);
  talon::testing::expect_error(
      [&] { check_same_draft_computation(plain, "A", e31, "B", 32, "a against b"); },
      {"fc_norm: A false, B true", "norm_output: A false, B true"});
}

TEST(DraftConfig, VariantsTalonDoesNotComputeAreRefusedByName) {
  const json plain = to_json(load_draft_config(config_path("specforge-llama3-8B-eagle3.json")));
  for (const char* key : {"norm_before_residual", "norm_before_fc", "attention_bias",
                          "mlp_bias", "bias", "qkv_bias"}) {
    json config = plain;
    config[key] = false;
    EXPECT_NO_THROW(parse_draft_config(config, "c.json")) << key;
    config[key] = true;
    talon::testing::expect_error([&] { parse_draft_config(config, "c.json"); },
                                 {fmt::format("c.json: field \"{}\": expected false (Talon computes EAGLE-3 without "
                                              "it), found true",
                                              key)});
  }
  json config = plain;
  config["eagle_config"] = {{"use_aux_hidden_state", false}};
  talon::testing::expect_error([&] { parse_draft_config(config, "c.json"); },
                               {"c.json: field \"eagle_config.use_aux_hidden_state\": expected true"});
  // vLLM's: a logit scale and bidirectional attention.
  config = plain;
  config["logit_scale"] = 1.0;
  config["is_causal"] = true;
  EXPECT_NO_THROW(parse_draft_config(config, "c.json"));
  config["logit_scale"] = 0.5;
  talon::testing::expect_error([&] { parse_draft_config(config, "c.json"); },
                               {"c.json: field \"logit_scale\": expected 1 (Talon computes EAGLE-3 without it), "
                                "found 0.5"});
  config["logit_scale"] = 1.0;
  config["is_causal"] = false;
  talon::testing::expect_error([&] { parse_draft_config(config, "c.json"); },
                               {"c.json: field \"is_causal\": expected true (the draft is causal), found false"});
}

// The aux layers in SGLang's convention (eagle_config) or vLLM's (top level,
// + 1): either alone gives the same layers, both must agree.
TEST(DraftConfig, AuxLayerIdsInEitherConventionMustAgree) {
  json config = to_json(load_draft_config(config_path("specforge-llama3-8B-eagle3.json")));
  config["eagle_aux_hidden_state_layer_ids"] = {3, 11, 21};
  EXPECT_EQ(parse_draft_config(config, "c.json").aux_layer_ids, (std::array<int, 3>{2, 10, 20}));
  config["eagle_config"] = {{"eagle_aux_hidden_state_layer_ids", {2, 10, 20}}};
  EXPECT_EQ(parse_draft_config(config, "c.json").aux_layer_ids, (std::array<int, 3>{2, 10, 20}));
  config["eagle_aux_hidden_state_layer_ids"] = {2, 10, 20};
  talon::testing::expect_error([&] { parse_draft_config(config, "c.json"); },
                               {"c.json: field \"eagle_aux_hidden_state_layer_ids\": expected "
                                "eagle_config.eagle_aux_hidden_state_layer_ids + 1 = [3, 11, 21]",
                                "found [2,10,20]"});
  config["eagle_aux_hidden_state_layer_ids"] = {0, 10, 20};  // input of layer 0 is no layer's output
  talon::testing::expect_error([&] { parse_draft_config(config, "c.json"); },
                               {"expected a list of 3 layer indices, each at least 1"});
}

TEST(DraftConfig, RoundTripsThroughToJson) {
  for (const char* name :
       {"specforge-llama3-8B-eagle3.json", "specforge-qwen3-8b-eagle3.json", "specforge-llama3-70B-eagle3.json",
        "specforge-qwen3-235B-A22B-eagle3.json", "llama3-scaled"}) {
    json file = json::parse(util::read_file(config_path("specforge-llama3-8B-eagle3.json")));
    if (std::string(name) == "llama3-scaled") {
      file["rope_scaling"] = json::parse(util::read_file(config_path("llama-3.1-8b-instruct.json")))["rope_scaling"];
    } else {
      file = json::parse(util::read_file(config_path(name)));
    }
    DraftConfig c = parse_draft_config(file, name);
    json once = to_json(c);
    DraftConfig again = parse_draft_config(once, name);
    EXPECT_EQ(to_json(again), once) << name;
    EXPECT_EQ(again.rope_theta, c.rope_theta) << name;
    EXPECT_EQ(again.aux_layer_ids, c.aux_layer_ids) << name;
    EXPECT_EQ(again.rope_scaling.has_value(), c.rope_scaling.has_value()) << name;
  }
}

TEST(DraftConfig, AuxLayerIds) {
  DraftConfig c = load_draft_config(config_path("specforge-llama3-8B-eagle3.json"));
  EXPECT_EQ(aux_layer_ids(c, 32), (std::vector<int>{1, 15, 28}));
  EXPECT_EQ(aux_layer_ids(c, 36), (std::vector<int>{1, 17, 32}));
  EXPECT_EQ(aux_layer_ids(c, 7), (std::vector<int>{1, 2, 3}));
  // SpecForge's qwen3-235B config spells out the default for 94 layers.
  DraftConfig big = load_draft_config(config_path("specforge-qwen3-235B-A22B-eagle3.json"));
  EXPECT_EQ(aux_layer_ids(big, 94), aux_layer_ids(c, 94));
  c.aux_layer_ids = std::array<int, 3>{9, 0, 4};
  EXPECT_EQ(aux_layer_ids(c, 12), (std::vector<int>{0, 4, 9}));

  expect_error([&] { aux_layer_ids(c, 10); }, {"[0, 4, 9]", "10 layers", "[0, 8]"});
  c.aux_layer_ids = std::array<int, 3>{3, 3, 5};
  expect_error([&] { aux_layer_ids(c, 32); }, {"distinct"});
  c.aux_layer_ids.reset();
  expect_error([&] { aux_layer_ids(c, 6); }, {"the default", "6 layers", "eagle_config"});
}

// One bad config: the base file, a change to it, and what the message must
// name besides the file.
struct BadConfig {
  const char* name;
  const char* base;
  std::function<void(json&)> change;
  std::vector<std::string> message;
  bool draft = false;
};

std::vector<BadConfig> bad_configs() {
  const char* llama = "llama-3.1-8b-instruct.json";
  const char* qwen3 = "qwen3-8b.json";
  const char* draft = "specforge-llama3-8B-eagle3.json";
  return {
      {"MissingHiddenSize", llama, [](json& j) { j.erase("hidden_size"); }, {"missing field \"hidden_size\""}},
      {"HiddenSizeString",
       llama,
       [](json& j) { j["hidden_size"] = "4096"; },
       {"\"hidden_size\"", "integer", "\"4096\""}},
      {"HiddenSizeFraction", llama, [](json& j) { j["hidden_size"] = 4096.5; }, {"\"hidden_size\"", "4096.5"}},
      {"NegativeIntermediate", llama, [](json& j) { j["intermediate_size"] = -1; }, {"\"intermediate_size\"", ">= 1"}},
      {"HeadsDoNotDivideHidden",
       llama,
       [](json& j) {
         j["num_attention_heads"] = 30;
         j["num_key_value_heads"] = 10;
       },
       {"\"num_attention_heads\"", "divisor of hidden_size 4096"}},
      {"KvHeadsDoNotDivideHeads",
       llama,
       [](json& j) { j["num_key_value_heads"] = 5; },
       {"\"num_key_value_heads\"", "divisor of num_attention_heads 32"}},
      {"OddHeadDim", qwen3, [](json& j) { j["head_dim"] = 127; }, {"head_dim 127"}},
      {"UnknownRopeType",
       llama,
       [](json& j) { j["rope_scaling"]["rope_type"] = "longrope"; },
       {"\"rope_scaling.rope_type\"", "\"longrope\""}},
      {"RopeScalingWithoutType",
       llama,
       [](json& j) { j["rope_scaling"].erase("rope_type"); },
       {"missing field \"rope_scaling.rope_type\""}},
      {"Llama3WithoutLowFreq",
       llama,
       [](json& j) { j["rope_scaling"].erase("low_freq_factor"); },
       {"missing field \"rope_scaling.low_freq_factor\""}},
      {"Llama3FactorsReversed",
       llama,
       [](json& j) { j["rope_scaling"]["high_freq_factor"] = 0.5; },
       {"\"rope_scaling.high_freq_factor\"", ">= low_freq_factor"}},
      {"ZeroRopeFactor",
       llama,
       [](json& j) { j["rope_scaling"]["factor"] = 0; },
       {"\"rope_scaling.factor\"", "positive"}},
      {"RopeScalingNotObject", llama, [](json& j) { j["rope_scaling"] = 8; }, {"\"rope_scaling\"", "object"}},
      {"RopeThetaDisagrees",
       llama,
       [](json& j) {
         j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1.0}};
       },
       {"\"rope_theta\"", "rope_parameters.rope_theta"}},
      {"UnknownArchitecture",
       llama,
       [](json& j) { j["architectures"] = {"MistralForCausalLM"}; },
       {"\"architectures\"", "MistralForCausalLM"}},
      {"ArchitectureDisagreesWithModelType",
       llama,
       [](json& j) { j["model_type"] = "qwen2"; },
       {"\"model_type\"", "\"llama\""}},
      {"NoArchitecture",
       llama,
       [](json& j) {
         j.erase("architectures");
         j.erase("model_type");
       },
       {"missing field \"architectures\""}},
      {"DraftGivenAsTarget", draft, [](json&) {}, {"\"architectures\"", "EAGLE-3 draft"}},
      {"UnknownDtype", llama, [](json& j) { j["torch_dtype"] = "float64"; }, {"\"torch_dtype\"", "float64"}},
      {"EosNotIds",
       llama,
       [](json& j) {
         j["eos_token_id"] = {1, "x"};
       },
       {"\"eos_token_id\""}},
      {"MlpBias", llama, [](json& j) { j["mlp_bias"] = true; }, {"\"mlp_bias\""}},
      {"SlidingWindow", qwen3, [](json& j) { j["use_sliding_window"] = true; }, {"\"use_sliding_window\""}},
      {"GeluTarget", qwen3, [](json& j) { j["hidden_act"] = "gelu"; }, {"\"hidden_act\"", "\"gelu\""}},
      {"DraftTwoLayers",
       draft,
       [](json& j) { j["num_hidden_layers"] = 2; },
       {"\"num_hidden_layers\"", "found 2"},
       true},
      {"DraftNoLayerCount",
       draft,
       [](json& j) { j.erase("num_hidden_layers"); },
       {"missing field \"num_hidden_layers\""},
       true},
      {"DraftGelu", draft, [](json& j) { j["hidden_act"] = "gelu"; }, {"\"hidden_act\""}, true},
      {"DraftTied", draft, [](json& j) { j["tie_word_embeddings"] = true; }, {"\"tie_word_embeddings\""}, true},
      {"DraftVocabTooLarge",
       draft,
       [](json& j) { j["draft_vocab_size"] = 200000; },
       {"\"draft_vocab_size\"", "at most vocab_size 128256"},
       true},
      // LlamaForCausalLM is the EAGLE authors' draft class; others are not drafts.
      {"DraftOtherClass",
       draft,
       [](json& j) { j["architectures"] = {"Qwen3ForCausalLM"}; },
       {"\"architectures\": expected [\"LlamaForCausalLMEagle3\"], [\"LlamaForCausalLM\"] (EAGLE) or "
        "[\"Eagle3LlamaForCausalLM\"] (AngelSlim), found [\"Qwen3ForCausalLM\"]"},
       true},
      {"DraftTargetClass",
       llama,
       [](json&) {},
       {"\"num_hidden_layers\"", "1 (an EAGLE-3 draft has one decoder layer)"},
       true},
      {"DraftTwoAuxLayers",
       draft,
       [](json& j) {
         j["eagle_config"] = {{"eagle_aux_hidden_state_layer_ids", {1, 2}}};
       },
       {"\"eagle_config.eagle_aux_hidden_state_layer_ids\"", "3"},
       true},
      {"DraftNegativeAuxLayer",
       draft,
       [](json& j) {
         j["eagle_config"] = {{"eagle_aux_hidden_state_layer_ids", {-1, 2, 3}}};
       },
       {"\"eagle_config.eagle_aux_hidden_state_layer_ids\""},
       true},
      {"DraftMissingVocab", draft, [](json& j) { j.erase("vocab_size"); }, {"missing field \"vocab_size\""}, true},
      // Absurd sizes ended as failed allocations ("tried to allocate
      // 281474976710656 bytes") or endless per-layer loops.
      {"DraftHugeIntermediate",
       draft,
       [](json& j) { j["intermediate_size"] = std::int64_t(1) << 40; },
       {": field \"intermediate_size\": expected at most 262144, found 1099511627776"},
       true},
      {"DraftHugeTargetHidden",
       draft,
       [](json& j) { j["target_hidden_size"] = 1048577; },
       {": field \"target_hidden_size\": expected at most 1048576, found 1048577"},
       true},
      {"DraftHugeDraftVocab",
       draft,
       [](json& j) { j["draft_vocab_size"] = 4194305; },
       {": field \"draft_vocab_size\": expected at most 4194304, found 4194305"},
       true},
      {"TargetBillionLayers",
       llama,
       [](json& j) { j["num_hidden_layers"] = 1000000000; },
       {": field \"num_hidden_layers\": expected at most 1024, found 1000000000"}},
      {"TargetHugeHidden",
       qwen3,
       [](json& j) { j["hidden_size"] = std::int64_t(1) << 40; },
       {": field \"hidden_size\": expected at most 1048576, found 1099511627776"}},
      {"TargetHugeVocab",
       llama,
       [](json& j) { j["vocab_size"] = std::int64_t(1) << 23; },
       {": field \"vocab_size\": expected at most 4194304, found 8388608"}},
      {"TargetHugeHeads",
       llama,
       [](json& j) { j["num_key_value_heads"] = 2048; },
       {": field \"num_key_value_heads\": expected at most 1024, found 2048"}},
      {"TargetHugeHeadDim",
       qwen3,
       [](json& j) { j["head_dim"] = 1026; },
       {": field \"head_dim\": expected at most 1024, found 1026"}},
  };
}

// One test for all cases: each ctest entry is a process that loads libtorch.
TEST(HfConfig, BadConfigsNameFileAndField) {
  for (const BadConfig& bad : bad_configs()) {
    SCOPED_TRACE(bad.name);
    json config = json::parse(util::read_file(config_path(bad.base)));
    bad.change(config);
    std::string source = std::string("changed/") + bad.base;
    std::vector<std::string> parts = bad.message;
    parts.push_back(source);
    if (bad.draft) {
      expect_error([&] { parse_draft_config(config, source); }, parts);
    } else {
      expect_error([&] { parse_target_config(config, source); }, parts);
    }
  }
}

TEST(HfConfig, FileLevelErrors) {
  expect_error([] { load_target_config(config_path("absent.json")); }, {"absent.json", "cannot open"});
  TempDir dir;
  fs::path file = dir.file("bad.json");
  util::write_file_atomic(file.string(), R"({"hidden_size": 1, "hidden_size": 2})");
  expect_error([&] { load_target_config(file.string()); }, {file.string(), "duplicate key \"hidden_size\""});
  util::write_file_atomic(file.string(), R"({"hidden_size": )");
  expect_error([&] { load_draft_config(file.string()); }, {file.string(), "not valid JSON"});
  util::write_file_atomic(file.string(), "[1]");
  expect_error([&] { load_draft_config(file.string()); }, {file.string(), "expected an object, found [1]"});
  // 10^5 nested arrays in a field crashed the error message that printed them.
  util::write_file_atomic(file.string(), R"({"hidden_size": )" + talon::testing::nested_arrays() + "}");
  expect_error([&] { load_target_config(file.string()); },
               {file.string() + ": nested deeper than 512 levels of arrays and objects"});
  expect_error([&] { load_draft_config(file.string()); },
               {file.string() + ": nested deeper than 512 levels of arrays and objects"});
  // At the limit the value is read, and the message shows its first 80 bytes.
  util::write_file_atomic(file.string(), R"({"num_hidden_layers": )" + talon::testing::nested_arrays(511) + "}");
  expect_error([&] { load_draft_config(file.string()); },
               {file.string() + ": field \"num_hidden_layers\": expected an integer >= 0, found " +
                std::string(80, '[') + "..."});
}

}  // namespace
}  // namespace talon::io
