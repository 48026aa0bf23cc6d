// Typed Hugging Face config.json files: the target model (Llama, Qwen2,
// Qwen3) and the EAGLE-3 draft (LlamaForCausalLMEagle3). Defaults follow the
// transformers config classes; missing or inconsistent fields throw
// talon::Error naming the file and the field. docs/formats.md lists them.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "talon/io/dtype.h"
#include "talon/io/rope_scaling.h"

namespace talon::io {

enum class Architecture { Llama, Qwen2, Qwen3 };
const char* architecture_name(Architecture architecture);  // "llama", "qwen2", "qwen3"

struct TargetConfig {
  Architecture architecture = Architecture::Llama;
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_hidden_layers = 0;
  std::int64_t num_attention_heads = 0;
  std::int64_t num_key_value_heads = 0;  // default: num_attention_heads
  std::int64_t head_dim = 0;             // default: hidden_size / num_attention_heads
  std::int64_t vocab_size = 0;
  std::int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  std::optional<RopeScaling> rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;     // q/k/v projections carry a bias (always for Qwen2)
  bool qk_norm = false;            // per-head RMSNorm on q and k (Qwen3)
  DType torch_dtype = DType::F32;  // F32, F16 or BF16; HF loads F32 when absent
  std::optional<std::int64_t> bos_token_id;
  std::vector<std::int64_t> eos_token_ids;  // "eos_token_id": an id or a list
};

// `path`: a config.json file, or a model directory holding one.
TargetConfig load_target_config(const std::string& path);
TargetConfig parse_target_config(const nlohmann::json& config, const std::string& source);

// The EAGLE-3 draft: Talon's and SpecForge's (architectures
// ["LlamaForCausalLMEagle3"]), the EAGLE authors' (["LlamaForCausalLM"]) and
// AngelSlim's (["Eagle3LlamaForCausalLM"]). Fields with a single legal value
// (num_hidden_layers 1, hidden_act "silu", tie_word_embeddings false) are
// checked, not stored.
struct DraftConfig {
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_attention_heads = 0;
  std::int64_t num_key_value_heads = 0;  // default: num_attention_heads
  std::int64_t head_dim = 0;             // default: hidden_size / num_attention_heads
  std::int64_t vocab_size = 0;           // the target's vocabulary
  std::int64_t draft_vocab_size = 0;     // default: vocab_size
  // config.json has no draft_vocab_size: SGLang then serves the target's
  // lm_head as the draft's (full vocabulary), whatever the draft's file holds.
  bool lm_head_from_target = false;
  std::int64_t max_position_embeddings = 2048;
  std::int64_t target_hidden_size = 0;  // fc input is 3 x this; default: hidden_size
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;  // not inherited from the target
  std::optional<RopeScaling> rope_scaling;
  // EAGLE-3.1 (design dflash-dspark.md §5, speculators' and vLLM's meaning):
  // fc_norm, an RMSNorm over each aux layer's features before fc
  // (fc_norm.{0,1,2}.weight); norm_output, the final-normed h both feeds the
  // next draft step and goes to lm_head without a second norm.
  bool fc_norm = false;
  bool norm_output = false;
  // eagle_config.eagle_aux_hidden_state_layer_ids: 0-based output-of-layer
  // indices of the target (SGLang's convention; it adds 1 internally).
  std::optional<std::array<int, 3>> aux_layer_ids;
};

DraftConfig load_draft_config(const std::string& path);
DraftConfig parse_draft_config(const nlohmann::json& config, const std::string& source);

// The dtype a config names ("torch_dtype", or "dtype" since transformers 5):
// F32, F16 or BF16; nullopt when absent.
std::optional<DType> config_dtype(const nlohmann::json& config, const std::string& source);

// The config.json of a Talon checkpoint (docs/formats.md): architectures
// ["LlamaForCausalLMEagle3"], model_type "llama", num_hidden_layers 1,
// hidden_act "silu", tie_word_embeddings false, torch_dtype "bfloat16" (the
// weights are saved in BF16), target_hidden_size only when it differs from
// hidden_size and eagle_config only when aux_layer_ids is set.
nlohmann::json to_json(const DraftConfig& config);

// The target layers whose outputs feed the draft, ascending: the config's
// override, else {1, L/2 - 1, L - 4}. Each must be distinct and at most L - 2
// (SGLang captures the input of layer id + 1, which must exist).
std::vector<int> aux_layer_ids(const DraftConfig& config, int target_layers);

// The context length SGLang derives from a config (get_context_length):
// max_position_embeddings times rope_scaling's factor, unless the scaling is
// llama3 or names original_max_position_embeddings. SGLang refuses to start
// a draft whose context is shorter than its target's.
std::int64_t sglang_context_length(std::int64_t max_position_embeddings, const std::optional<RopeScaling>& scaling);

// The fields that change what a draft computes (sizes, vocabularies, norm
// epsilon, RoPE, aux layers as resolved for a target of `target_layers`)
// must be equal: throws one talon::Error listing every difference as
// "field: <a_name> X, <b_name> Y" after `where`. max_position_embeddings is
// not compared: Talon computes RoPE per position.
void check_same_draft_computation(const DraftConfig& a, const std::string& a_name, const DraftConfig& b,
                                  const std::string& b_name, int target_layers, const std::string& where);

// A draft config fits this target: its hidden_size (the draft shares the
// target's embedding), target_hidden_size and vocab_size equal the target's,
// and its aux layers exist in the target. `where` names both, e.g. "draft
// config FILE against target DIR". Checked by `talon train` and `talon eval`
// before any weights load.
void check_draft_fits_target(const DraftConfig& draft, const TargetConfig& target, const std::string& where);

}  // namespace talon::io
