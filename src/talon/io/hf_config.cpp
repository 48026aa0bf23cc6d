#include "talon/io/hf_config.h"
#include "talon/io/config_fields.h"

#include <algorithm>
#include <filesystem>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "talon/util/error.h"
#include "talon/util/json_fields.h"
#include "talon/util/json_file.h"

namespace talon::io {
namespace {

using nlohmann::json;
using util::JsonFields;
using util::JsonLocation;

constexpr const char* kDraftClass = "LlamaForCausalLMEagle3";  // written by Talon, read by SGLang and vLLM
// The classes of the drafts people publish: the EAGLE authors' (their
// config.json is a plain Llama one with num_hidden_layers 1) and AngelSlim's.
// vLLM serves both as its EAGLE-3 Llama (its EAGLEConfig prefixes "Eagle3");
// SGLang only kDraftClass, which Talon's checkpoints write.
constexpr const char* kDraftClasses[] = {kDraftClass, "LlamaForCausalLM", "Eagle3LlamaForCausalLM"};

struct KnownArchitecture {
  Architecture architecture;
  const char* class_name;
  const char* model_type;
};
constexpr KnownArchitecture kArchitectures[] = {
    {Architecture::Llama, "LlamaForCausalLM", "llama"},
    {Architecture::Qwen2, "Qwen2ForCausalLM", "qwen2"},
    {Architecture::Qwen3, "Qwen3ForCausalLM", "qwen3"},
};

// architectures[0] and model_type must both name a supported model when
// present, and the same one.
Architecture parse_architecture(const JsonFields& fields) {
  const KnownArchitecture* by_class = nullptr;
  if (const json* classes = fields.find("architectures")) {
    if (!classes->is_array() || classes->empty() || !(*classes)[0].is_string()) {
      fields.fail_field("architectures", "a list of model class names");
    }
    std::string name = (*classes)[0].get<std::string>();
    for (const KnownArchitecture& known : kArchitectures) {
      if (name == known.class_name) by_class = &known;
    }
    if (name == kDraftClass) {
      fields.fail_field("architectures", "a target model class (this is an EAGLE-3 draft config)");
    }
    if (by_class == nullptr) {
      fields.fail_field("architectures", "LlamaForCausalLM, Qwen2ForCausalLM or Qwen3ForCausalLM");
    }
  }
  std::optional<std::string> model_type = fields.string("model_type");
  if (by_class != nullptr) {
    if (model_type && *model_type != by_class->model_type) {
      fields.fail_field("model_type",
                        fmt::format("\"{}\" as architectures says {}", by_class->model_type, by_class->class_name));
    }
    return by_class->architecture;
  }
  if (!model_type) fields.fail_missing("architectures");
  for (const KnownArchitecture& known : kArchitectures) {
    if (*model_type == known.model_type) return known.architecture;
  }
  fields.fail_field("model_type", "llama, qwen2 or qwen3");
}

std::vector<std::int64_t> parse_eos(const JsonFields& fields) {
  const json* eos = fields.find("eos_token_id");
  if (eos == nullptr) return {};
  if (!eos->is_array()) return {*fields.integer("eos_token_id", 0)};
  std::vector<std::int64_t> ids;
  for (const json& id : *eos) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0) {
      fields.fail_field("eos_token_id", "a token id or a list of token ids");
    }
    ids.push_back(id.get<std::int64_t>());
  }
  return ids;
}

// fields[key] as a list of 3 layer indices, each at least `min`; nullopt
// when absent.
std::optional<std::array<int, 3>> aux_id_list(const JsonFields& fields, const char* key, int min) {
  const json* ids = fields.find(key);
  if (!ids) return std::nullopt;
  std::array<int, 3> layers{};
  bool valid = ids->is_array() && ids->size() == layers.size();
  for (std::size_t i = 0; valid && i < layers.size(); ++i) {
    const json& id = (*ids)[i];
    valid = id.is_number_integer() && id.get<std::int64_t>() >= min && id.get<std::int64_t>() < (1 << 20);
    if (valid) layers[i] = id.get<int>();
  }
  if (!valid) fields.fail_field(key, fmt::format("a list of 3 layer indices, each at least {}", min));
  return layers;
}

}  // namespace

std::string config_file(const std::string& path) {
  std::error_code ec;  // an unreadable path is reported when the file is opened
  return std::filesystem::is_directory(path, ec) ? (std::filesystem::path(path) / "config.json").string() : path;
}

Attention parse_attention(const JsonFields& fields, std::int64_t hidden_size) {
  Attention a;
  a.heads = fields.required_integer("num_attention_heads", 1, kMaxHeads);
  a.kv_heads = fields.integer("num_key_value_heads", 1, kMaxHeads).value_or(a.heads);
  if (a.heads % a.kv_heads != 0) {
    fields.fail_field("num_key_value_heads", fmt::format("a divisor of num_attention_heads {}", a.heads));
  }
  std::optional<std::int64_t> head_dim = fields.integer("head_dim", 1, kMaxHeads);
  if (!head_dim) {
    if (hidden_size % a.heads != 0) {
      fields.fail_field("num_attention_heads",
                        fmt::format("a divisor of hidden_size {} (no head_dim given)", hidden_size));
    }
    head_dim = hidden_size / a.heads;
  }
  if (*head_dim % 2 != 0) {
    fail("{}: head_dim {} is odd; RoPE rotates pairs of dimensions", fields.where().file(), *head_dim);
  }
  a.head_dim = *head_dim;
  return a;
}

Rope parse_rope(const JsonFields& fields) {
  std::optional<double> theta = fields.positive_number("rope_theta");
  const std::string& file = fields.where().file();
  if (std::optional<JsonFields> parameters = fields.object("rope_parameters")) {
    double parameters_theta = parameters->required_positive_number("rope_theta");
    if (theta && *theta != parameters_theta) {
      fields.fail_field("rope_theta", fmt::format("{} as rope_parameters.rope_theta says", parameters_theta));
    }
    return {parameters_theta, parse_rope_scaling(parameters->value(), file, "rope_parameters")};
  }
  const json* scaling = fields.find("rope_scaling");
  return {theta.value_or(10000.0), scaling ? parse_rope_scaling(*scaling, file) : std::nullopt};
}

std::optional<DType> parse_torch_dtype(const JsonFields& fields) {
  const char* key = fields.find("torch_dtype") ? "torch_dtype" : "dtype";
  std::optional<std::string> name = fields.string(key);
  if (!name) return std::nullopt;
  if (*name == "float32") return DType::F32;
  if (*name == "float16") return DType::F16;
  if (*name == "bfloat16") return DType::BF16;
  fields.fail_field(key, "float32, float16 or bfloat16");
}

void check_silu(const JsonFields& fields) {
  if (fields.string("hidden_act").value_or("silu") != "silu") fields.fail_field("hidden_act", "\"silu\"");
}

const char* architecture_name(Architecture architecture) {
  for (const KnownArchitecture& known : kArchitectures) {
    if (known.architecture == architecture) return known.model_type;
  }
  return "?";
}

TargetConfig parse_target_config(const json& config, const std::string& source) {
  JsonFields fields(config, JsonLocation(source));
  TargetConfig c;
  c.architecture = parse_architecture(fields);
  c.hidden_size = fields.required_integer("hidden_size", 1, kMaxHiddenSize);
  c.intermediate_size = fields.required_integer("intermediate_size", 1, kMaxIntermediateSize);
  c.num_hidden_layers = fields.required_integer("num_hidden_layers", 1, kMaxLayers);
  c.vocab_size = fields.required_integer("vocab_size", 1, kMaxVocabSize);
  Attention attention = parse_attention(fields, c.hidden_size);
  c.num_attention_heads = attention.heads;
  c.num_key_value_heads = attention.kv_heads;
  c.head_dim = attention.head_dim;
  c.max_position_embeddings =
      fields.integer("max_position_embeddings", 1).value_or(c.architecture == Architecture::Llama ? 2048 : 32768);
  c.rms_norm_eps = fields.positive_number("rms_norm_eps").value_or(1e-6);
  Rope rope = parse_rope(fields);
  c.rope_theta = rope.theta;
  c.rope_scaling = rope.scaling;
  c.tie_word_embeddings = fields.boolean("tie_word_embeddings").value_or(false);
  // Qwen2's q/k/v always carry a bias (its config has no switch); Llama and
  // Qwen3 read attention_bias.
  c.attention_bias = c.architecture == Architecture::Qwen2 || fields.boolean("attention_bias").value_or(false);
  c.qk_norm = c.architecture == Architecture::Qwen3;
  c.torch_dtype = parse_torch_dtype(fields).value_or(DType::F32);
  c.bos_token_id = fields.integer("bos_token_id", 0);
  c.eos_token_ids = parse_eos(fields);

  // Variants Talon's models do not implement; reading past them would give
  // silently wrong hidden states.
  check_silu(fields);
  if (fields.boolean("mlp_bias").value_or(false)) fields.fail_field("mlp_bias", "false (MLP biases are not supported)");
  if (fields.boolean("use_sliding_window").value_or(false)) {
    fields.fail_field("use_sliding_window", "false (sliding-window attention is not supported)");
  }
  return c;
}

TargetConfig load_target_config(const std::string& path) {
  std::string file = config_file(path);
  return parse_target_config(util::load_json_file(file), file);
}

DraftConfig parse_draft_config(const json& config, const std::string& source) {
  JsonFields fields(config, JsonLocation(source));
  if (const json* classes = fields.find("architectures")) {
    const bool known = classes->is_array() && !classes->empty() &&
                       std::any_of(std::begin(kDraftClasses), std::end(kDraftClasses),
                                   [&](const char* name) { return (*classes)[0] == name; });
    if (!known) {
      fields.fail_field("architectures",
                        "[\"LlamaForCausalLMEagle3\"], [\"LlamaForCausalLM\"] (EAGLE) or [\"Eagle3LlamaForCausalLM\"] "
                        "(AngelSlim)");
    }
  }
  if (fields.required_integer("num_hidden_layers", 0) != 1) {
    fields.fail_field("num_hidden_layers", "1 (an EAGLE-3 draft has one decoder layer)");
  }
  check_silu(fields);
  if (fields.boolean("tie_word_embeddings").value_or(false)) {
    fields.fail_field("tie_word_embeddings",
                      "false (the draft's lm_head is its own [draft_vocab_size, hidden] matrix)");
  }
  parse_torch_dtype(fields);  // checked only: checkpoints are always BF16
  // Variants of EAGLE-3 that other trainers and engines compute and Talon
  // does not: refused by name, never trained or evaluated as plain EAGLE-3.
  // `bias` gives SGLang's fc and vLLM's attention projections a bias,
  // `qkv_bias` vLLM's q/k/v; vLLM scales the logits by `logit_scale` and
  // attends bidirectionally when `is_causal` is false.
  for (const char* key : {"norm_before_residual", "norm_before_fc", "attention_bias", "mlp_bias", "bias", "qkv_bias"}) {
    if (fields.boolean(key).value_or(false)) fields.fail_field(key, "false (Talon computes EAGLE-3 without it)");
  }
  if (fields.positive_number("logit_scale").value_or(1.0) != 1.0) {
    fields.fail_field("logit_scale", "1 (Talon computes EAGLE-3 without it)");
  }
  if (!fields.boolean("is_causal").value_or(true)) fields.fail_field("is_causal", "true (the draft is causal)");

  DraftConfig c;
  // EAGLE-3.1 (design dflash-dspark.md §5), as speculators and vLLM compute it.
  c.fc_norm = fields.boolean("fc_norm").value_or(false);
  c.norm_output = fields.boolean("norm_output").value_or(false);
  c.hidden_size = fields.required_integer("hidden_size", 1, kMaxHiddenSize);
  c.intermediate_size = fields.required_integer("intermediate_size", 1, kMaxIntermediateSize);
  c.vocab_size = fields.required_integer("vocab_size", 1, kMaxVocabSize);
  std::optional<std::int64_t> draft_vocab_size = fields.integer("draft_vocab_size", 1, kMaxVocabSize);
  c.lm_head_from_target = !draft_vocab_size;
  c.draft_vocab_size = draft_vocab_size.value_or(c.vocab_size);
  if (c.draft_vocab_size > c.vocab_size) {
    fields.fail_field("draft_vocab_size", fmt::format("at most vocab_size {}", c.vocab_size));
  }
  Attention attention = parse_attention(fields, c.hidden_size);
  c.num_attention_heads = attention.heads;
  c.num_key_value_heads = attention.kv_heads;
  c.head_dim = attention.head_dim;
  c.max_position_embeddings = fields.integer("max_position_embeddings", 1).value_or(2048);
  c.target_hidden_size = fields.integer("target_hidden_size", 1, kMaxHiddenSize).value_or(c.hidden_size);
  c.rms_norm_eps = fields.positive_number("rms_norm_eps").value_or(1e-6);
  Rope rope = parse_rope(fields);
  c.rope_theta = rope.theta;
  c.rope_scaling = rope.scaling;

  // SGLang reads eagle_config's list (output of layer i, 0-based); vLLM reads
  // the top-level one (input of layer i, so SGLang's id + 1). Either serves;
  // both must name the same layers.
  const char* key = "eagle_aux_hidden_state_layer_ids";
  std::optional<std::array<int, 3>> sglang, vllm;
  if (std::optional<JsonFields> eagle = fields.object("eagle_config")) {
    if (!eagle->boolean("use_aux_hidden_state").value_or(true)) {
      eagle->fail_field("use_aux_hidden_state", "true (an EAGLE-3 draft reads the target's aux hidden states)");
    }
    sglang = aux_id_list(*eagle, key, 0);
  }
  vllm = aux_id_list(fields, key, 1);
  if (sglang && vllm && *vllm != std::array<int, 3>{(*sglang)[0] + 1, (*sglang)[1] + 1, (*sglang)[2] + 1}) {
    fields.fail_field(key, fmt::format("eagle_config.{} + 1 = [{}, {}, {}] (vLLM's input-of-layer ids for "
                                       "SGLang's output-of-layer ones)",
                                       key, (*sglang)[0] + 1, (*sglang)[1] + 1, (*sglang)[2] + 1));
  }
  if (sglang) {
    c.aux_layer_ids = sglang;
  } else if (vllm) {
    c.aux_layer_ids = std::array<int, 3>{(*vllm)[0] - 1, (*vllm)[1] - 1, (*vllm)[2] - 1};
  }
  return c;
}

DraftConfig load_draft_config(const std::string& path) {
  std::string file = config_file(path);
  return parse_draft_config(util::load_json_file(file), file);
}

std::optional<DType> config_dtype(const json& config, const std::string& source) {
  return parse_torch_dtype(JsonFields(config, JsonLocation(source)));
}

json to_json(const DraftConfig& c) {
  json out = {
      {"architectures", json::array({kDraftClass})},
      {"model_type", "llama"},
      {"hidden_size", c.hidden_size},
      {"intermediate_size", c.intermediate_size},
      {"num_attention_heads", c.num_attention_heads},
      {"num_key_value_heads", c.num_key_value_heads},
      {"head_dim", c.head_dim},
      {"num_hidden_layers", 1},
      {"vocab_size", c.vocab_size},
      {"draft_vocab_size", c.draft_vocab_size},
      {"tie_word_embeddings", false},
      {"hidden_act", "silu"},
      {"rms_norm_eps", c.rms_norm_eps},
      {"rope_theta", c.rope_theta},
      {"rope_scaling", c.rope_scaling ? to_json(*c.rope_scaling) : json(nullptr)},
      {"max_position_embeddings", c.max_position_embeddings},
      {"torch_dtype", "bfloat16"},
  };
  if (c.target_hidden_size != c.hidden_size) out["target_hidden_size"] = c.target_hidden_size;
  // Written only when trained that way: a SpecForge config may say norm_output
  // true meaning plain EAGLE-3 (design §7 #15).
  if (c.fc_norm) out["fc_norm"] = true;
  if (c.norm_output) out["norm_output"] = true;
  if (c.aux_layer_ids) {  // in both conventions: SGLang's, and vLLM's (input of layer: + 1)
    const std::array<int, 3>& ids = *c.aux_layer_ids;
    out["eagle_config"] = {{"eagle_aux_hidden_state_layer_ids", ids}};
    out["eagle_aux_hidden_state_layer_ids"] = {ids[0] + 1, ids[1] + 1, ids[2] + 1};
  }
  return out;
}

std::vector<int> aux_layer_ids(const DraftConfig& config, int target_layers) {
  std::array<int, 3> ids =
      config.aux_layer_ids.value_or(std::array<int, 3>{1, target_layers / 2 - 1, target_layers - 4});
  std::sort(ids.begin(), ids.end());
  bool valid = ids[0] >= 0 && ids[0] < ids[1] && ids[1] < ids[2] && ids[2] <= target_layers - 2;
  if (!valid) {
    fail(
        "aux layer ids [{}, {}, {}] ({}) for a target of {} layers: expected 3 distinct ids in [0, {}]; set "
        "eagle_config.eagle_aux_hidden_state_layer_ids in the draft config",
        ids[0], ids[1], ids[2], config.aux_layer_ids ? "from the draft config" : "the default", target_layers,
        target_layers - 2);
  }
  return {ids.begin(), ids.end()};
}

std::int64_t sglang_context_length(std::int64_t max_position_embeddings, const std::optional<RopeScaling>& scaling) {
  if (!scaling || scaling->type == RopeType::Llama3 || scaling->original_max_position_embeddings) {
    return max_position_embeddings;
  }
  return static_cast<std::int64_t>(scaling->factor * static_cast<double>(max_position_embeddings));
}

void check_same_draft_computation(const DraftConfig& a, const std::string& a_name, const DraftConfig& b,
                                  const std::string& b_name, int target_layers, const std::string& where) {
  std::vector<std::string> differences;
  auto compare = [&](const char* field, const auto& x, const auto& y) {
    if (x != y) differences.push_back(fmt::format("{}: {} {}, {} {}", field, a_name, x, b_name, y));
  };
  compare("hidden_size", a.hidden_size, b.hidden_size);
  compare("intermediate_size", a.intermediate_size, b.intermediate_size);
  compare("num_attention_heads", a.num_attention_heads, b.num_attention_heads);
  compare("num_key_value_heads", a.num_key_value_heads, b.num_key_value_heads);
  compare("head_dim", a.head_dim, b.head_dim);
  compare("vocab_size", a.vocab_size, b.vocab_size);
  compare("draft_vocab_size", a.draft_vocab_size, b.draft_vocab_size);
  compare("fc_norm", a.fc_norm, b.fc_norm);
  compare("norm_output", a.norm_output, b.norm_output);
  compare("target_hidden_size", a.target_hidden_size, b.target_hidden_size);
  compare("rms_norm_eps", a.rms_norm_eps, b.rms_norm_eps);
  compare("rope_theta", a.rope_theta, b.rope_theta);
  auto scaling = [](const DraftConfig& c) { return c.rope_scaling ? to_json(*c.rope_scaling).dump() : "none"; };
  compare("rope_scaling", scaling(a), scaling(b));
  auto aux = [&](const DraftConfig& c) {
    return fmt::format("[{}]", fmt::join(aux_layer_ids(c, target_layers), ", "));
  };
  compare("aux layer ids", aux(a), aux(b));
  if (!differences.empty()) {
    fail("{}: the configs differ in what the draft computes: {}", where, fmt::join(differences, "; "));
  }
}

void check_draft_fits_target(const DraftConfig& draft, const TargetConfig& target, const std::string& where) {
  if (draft.hidden_size != target.hidden_size) {
    fail("{}: hidden_size {} but the target's is {} (the draft shares the target's embedding)", where,
         draft.hidden_size, target.hidden_size);
  }
  if (draft.target_hidden_size != target.hidden_size) {
    fail("{}: target_hidden_size {} but the target's hidden_size is {}", where, draft.target_hidden_size,
         target.hidden_size);
  }
  if (draft.vocab_size != target.vocab_size) {
    fail("{}: vocab_size {} but the target's is {}", where, draft.vocab_size, target.vocab_size);
  }
  try {
    aux_layer_ids(draft, static_cast<int>(target.num_hidden_layers));
  } catch (const Error& e) {
    fail("{}: {}", where, e.what());
  }
}

}  // namespace talon::io
