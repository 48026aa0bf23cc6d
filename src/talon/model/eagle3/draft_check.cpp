#include "talon/model/eagle3/draft_check.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "talon/data/vocab_mapping.h"
#include "talon/io/safetensors.h"
#include "talon/model/eagle3/eagle3_draft.h"
#include "talon/util/error.h"
#include "talon/util/json_file.h"

namespace talon::model {
namespace {

using nlohmann::json;
using Ids = std::vector<int>;

constexpr const char* kAuxKey = "eagle_aux_hidden_state_layer_ids";

// The aux layers both engines capture when the draft config names none:
// the input of layers {2, L/2, L-3} (SGLang's set_eagle3_layers_to_capture,
// vLLM's get_eagle3_aux_hidden_state_layers), i.e. the output of layers
// {1, L/2-1, L-4}, Talon's convention.
Ids engine_default_aux(int layers) {
  const Ids inputs = {2, layers / 2, layers - 3};
  return {inputs[0] - 1, inputs[1] - 1, inputs[2] - 1};
}

// transformers reads a null field as absent (None).
bool present(const json& raw, const char* key) { return raw.contains(key) && !raw[key].is_null(); }

Ids sorted(Ids ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

struct Checker {
  std::string config_file, weights_file;
  const io::TargetConfig& target;
  std::string target_name;
  std::vector<std::string> problems;

  template <typename... Args>
  void problem(fmt::format_string<Args...> format, Args&&... args) {
    problems.push_back(fmt::format(format, std::forward<Args>(args)...));
  }

  // Fields the engines read whose absence they fill with a default other
  // than what Talon trained with (parse_draft_config has refused the flags
  // of variants Talon does not compute).
  void check_engine_fields(const json& raw, const io::DraftConfig& c) {
    if (!present(raw, "architectures")) {
      problem("{}: architectures is absent: SGLang and vLLM pick the draft's model class by it (expected "
              "[\"LlamaForCausalLMEagle3\"])",
              config_file);
    }
    if (raw.value("model_type", json()) != "llama") {
      problem("{}: model_type is {}, expected \"llama\" (the engines read the draft config as transformers' "
              "LlamaConfig)",
              config_file, present(raw, "model_type") ? raw["model_type"].dump() : "absent");
    }
    if (!present(raw, "draft_vocab_size")) {
      problem("{}: draft_vocab_size is absent: SGLang's LlamaForCausalLMEagle3 then serves the target's lm_head in "
              "place of the trained one",
              config_file);
    }
    if (!present(raw, "torch_dtype") && !present(raw, "dtype")) {
      problem("{}: torch_dtype is absent: SGLang's --dtype auto then serves the draft in float16, not the dtype its "
              "weights are saved in",
              config_file);
    }
    // transformers' LlamaConfig defaults, which both engines read, against
    // parse_draft_config's (what Talon trained with when the field is absent).
    struct Default {
      const char* key;
      bool given;
      double engines, talon;
    };
    const Default defaults[] = {
        {"rope_theta", present(raw, "rope_theta") || present(raw, "rope_parameters"), 10000.0, c.rope_theta},
        {"rms_norm_eps", present(raw, "rms_norm_eps"), 1e-6, c.rms_norm_eps},
        {"max_position_embeddings", present(raw, "max_position_embeddings"), 2048.0,
         static_cast<double>(c.max_position_embeddings)},
        {"num_key_value_heads", present(raw, "num_key_value_heads"), static_cast<double>(c.num_attention_heads),
         static_cast<double>(c.num_key_value_heads)},
        {"head_dim", present(raw, "head_dim"), static_cast<double>(c.hidden_size / c.num_attention_heads),
         static_cast<double>(c.head_dim)},
    };
    for (const Default& d : defaults) {
      if (!d.given && d.engines != d.talon) {
        problem("{}: {} is absent: the engines take transformers' LlamaConfig default {}, Talon {}", config_file,
                d.key, d.engines, d.talon);
      }
    }
  }

  // SGLang reads only eagle_config's list, vLLM only the top-level one: an
  // engine whose list is absent serves its default layers.
  void check_aux_layers(const json& raw, const io::DraftConfig& c) {
    const int layers = static_cast<int>(target.num_hidden_layers);
    Ids trained{};
    try {
      trained = sorted(io::aux_layer_ids(c, layers));
    } catch (const Error&) {
      return;  // ids the target does not have: check_against_target names them
    }
    const Ids fallback = engine_default_aux(layers);
    if (trained == fallback) return;
    const bool sglang = present(raw, "eagle_config") && present(raw["eagle_config"], kAuxKey);
    const Ids served_by_vllm = {fallback[0] + 1, fallback[1] + 1, fallback[2] + 1};
    if (!sglang) {
      problem("{}: eagle_config.{} is absent: SGLang then serves its default aux layers [{}] (output of layer), not "
              "the [{}] the draft was trained on",
              config_file, kAuxKey, fmt::join(fallback, ", "), fmt::join(trained, ", "));
    }
    if (!present(raw, kAuxKey)) {
      problem("{}: {} (top level) is absent: vLLM then serves its default aux layers [{}] (input of layer), not the "
              "[{}, {}, {}] the draft was trained on",
              config_file, kAuxKey, fmt::join(served_by_vllm, ", "), trained[0] + 1, trained[1] + 1,
              trained[2] + 1);
    }
  }

  void check_against_target(const io::DraftConfig& c) {
    const std::string where = fmt::format("{} against target {}", config_file, target_name);
    try {
      io::check_draft_fits_target(c, target, where);
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
    // check_draft_fits_target stops at its first difference; the aux layers
    // are checked on their own too.
    try {
      io::aux_layer_ids(c, static_cast<int>(target.num_hidden_layers));
    } catch (const Error& e) {
      const std::string message = fmt::format("{}: {}", where, e.what());
      if (std::find(problems.begin(), problems.end(), message) == problems.end()) problems.push_back(message);
    }
    const std::int64_t context = io::sglang_context_length(c.max_position_embeddings, c.rope_scaling);
    const std::int64_t target_context = io::sglang_context_length(target.max_position_embeddings, target.rope_scaling);
    if (context < target_context) {
      problem("{}: context length {} (max_position_embeddings {} and rope_scaling, as SGLang derives it) is below "
              "the target's {}: SGLang refuses to start the draft (unless SGLANG_ALLOW_OVERWRITE_LONGER_CONTEXT_LEN "
              "is set)",
              config_file, context, c.max_position_embeddings, target_context);
    }
    if (c.max_position_embeddings < target.max_position_embeddings) {
      problem("{}: max_position_embeddings {} is below the target's {}: vLLM up to 0.24 reads past the draft's RoPE "
              "cache",
              config_file, c.max_position_embeddings, target.max_position_embeddings);
    }
  }

  // Names, shapes and dtypes from the header; d2t and t2d by value.
  void check_tensors(const std::optional<io::DraftConfig>& c, std::optional<io::DType> dtype) {
    std::optional<io::SafetensorsFile> file;
    try {
      file = io::SafetensorsFile::open(weights_file);
    } catch (const Error& e) {
      problems.push_back(e.what());
      return;
    }
    std::map<std::string, const io::TensorInfo*> found;
    for (const io::TensorInfo& info : file->tensors()) found[info.name] = &info;
    std::set<std::string> weights;  // the config's: EAGLE-3.1's fc_norm.{0,1,2} with fc_norm
    Eagle3Draft names;
    if (c) names.config = *c;
    for (const auto& [name, value] : names.parameters()) weights.insert(name);
    for (const auto& [name, info] : found) {
      if (name == "embed_tokens.weight") {
        problem("{}: tensor \"embed_tokens.weight\" is saved: the draft is trained with the target's embedding, but "
                "vLLM serves the draft's own copy when there is one",
                weights_file);
      } else if (!weights.count(name) && name != "d2t" && name != "t2d") {
        problem("{}: tensor \"{}\" is not a tensor SGLang's LlamaForCausalLMEagle3 loads (it would skip it silently)",
                weights_file, name);
      }
    }
    for (const std::string& name : weights) {
      auto it = found.find(name);
      if (it == found.end()) {
        problem("{}: tensor \"{}\" is missing: SGLang would serve it uninitialised", weights_file, name);
        continue;
      }
      const io::TensorInfo& info = *it->second;
      if (c) {
        const std::vector<std::int64_t> want = Eagle3Draft::whole_shape(*c, name);
        if (info.shape != want) {
          problem("{}: tensor \"{}\" has shape [{}], expected [{}] from config.json", weights_file, name,
                  fmt::join(info.shape, ", "), fmt::join(want, ", "));
        }
      }
      if (info.dtype != io::DType::F32 && info.dtype != io::DType::F16 && info.dtype != io::DType::BF16) {
        problem("{}: tensor \"{}\" is {}, expected F32, F16 or BF16 (the engines load weights as floats)",
                weights_file, name, io::dtype_name(info.dtype));
      } else if (dtype && info.dtype != *dtype) {
        problem("{}: tensor \"{}\" is {} but config.json's torch_dtype says {}: SGLang serves the draft in its "
                "config's dtype",
                weights_file, name, io::dtype_name(info.dtype), io::dtype_name(*dtype));
      }
    }
    check_vocab(c);
  }

  // SGLang serves draft id i as target id i + d2t[i] (its hot token ids),
  // vLLM the same (draft_id_to_target_id); t2d is what Talon's readers
  // check d2t against.
  void check_vocab(const std::optional<io::DraftConfig>& c) {
    try {
      data::VocabMapping mapping = data::VocabMapping::load(weights_file);
      if (!c) return;
      if (static_cast<std::int64_t>(mapping.d2t.size()) != c->draft_vocab_size) {
        problem("{}: d2t has {} entries, expected draft_vocab_size {} from config.json", weights_file,
                mapping.d2t.size(), c->draft_vocab_size);
      }
      if (static_cast<std::int64_t>(mapping.t2d.size()) != c->vocab_size) {
        problem("{}: t2d has {} entries, expected vocab_size {} from config.json", weights_file, mapping.t2d.size(),
                c->vocab_size);
      }
    } catch (const Error& e) {
      problems.push_back(e.what());
    }
  }
};

}  // namespace

DraftCheck check_draft_for_engines(const std::string& dir, const io::TargetConfig& target,
                                   const std::string& target_name) {
  Checker check{dir + "/config.json", dir + "/model.safetensors", target, target_name, {}};
  std::optional<io::DraftConfig> config;
  std::optional<io::DType> dtype;
  try {
    const json raw = util::load_json_file(check.config_file);
    config = io::parse_draft_config(raw, check.config_file);
    dtype = io::config_dtype(raw, check.config_file);
    check.check_engine_fields(raw, *config);
    check.check_against_target(*config);
    check.check_aux_layers(raw, *config);
  } catch (const Error& e) {
    check.problems.push_back(e.what());
  }
  check.check_tensors(config, dtype);

  DraftCheck out;
  out.problems = std::move(check.problems);
  if (out.problems.empty()) {  // so the config parsed and names its dtype
    const Ids aux = sorted(io::aux_layer_ids(*config, static_cast<int>(target.num_hidden_layers)));
    out.checked = fmt::format(
        "{}: SGLang and vLLM load it as trained, against target {}: tensor names, shapes and dtypes ({}), the "
        "config fields they read, aux layers [{}] in both conventions, context {} >= {}, d2t/t2d ({} of {} ids)",
        dir, target_name, io::dtype_name(*dtype), fmt::join(aux, ", "),
        io::sglang_context_length(config->max_position_embeddings, config->rope_scaling),
        io::sglang_context_length(target.max_position_embeddings, target.rope_scaling), config->draft_vocab_size,
        config->vocab_size);
  }
  return out;
}

}  // namespace talon::model
