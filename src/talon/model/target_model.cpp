#include "talon/model/target_model.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "talon/io/safetensors_model.h"
#include "talon/model/layers.h"
#include "talon/model/target_weights.h"
#include "talon/model/weight_check.h"
#include "talon/parallel/tensor_parallel.h"
#include "talon/util/error.h"

namespace talon::model {
namespace {

std::string shape_string(at::IntArrayRef shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_float(io::DType dtype) {
  return dtype == io::DType::F32 || dtype == io::DType::F16 || dtype == io::DType::BF16;
}

// Tensors transformers drops without a word: RoPE buffers saved by old
// versions, and lm_head beside tied embeddings (the embedding wins).
bool ignorable(const std::string& name, const io::TargetConfig& config) {
  return ends_with(name, "rotary_emb.inv_freq") || (config.tie_word_embeddings && name == "lm_head.weight");
}

// Checks the checkpoint against the config before anything is copied: every
// tensor present with its shape and a float dtype, and no tensor left over.
void check_checkpoint(const io::SafetensorsModel& checkpoint, const std::vector<TargetTensorSpec>& specs,
                      const io::TargetConfig& config) {
  const std::string& dir = checkpoint.dir();
  std::unordered_set<std::string> expected;
  for (const TargetTensorSpec& spec : specs) {
    expected.insert(spec.name);
    if (!checkpoint.contains(spec.name)) {
      fail("{}: missing tensor \"{}\": expected shape {} from config.json", dir, spec.name, shape_string(spec.shape));
    }
    const io::TensorInfo& info = checkpoint.info(spec.name);
    if (info.shape != spec.shape) {
      fail("{}: tensor \"{}\": expected shape {} from config.json, found {}", dir, spec.name,
           shape_string(spec.shape), shape_string(info.shape));
    }
    if (!is_float(info.dtype)) {
      fail("{}: tensor \"{}\": expected dtype F32, F16 or BF16, found {}", dir, spec.name,
           io::dtype_name(info.dtype));
    }
  }
  for (const std::string& name : checkpoint.names()) {
    if (!expected.count(name) && !ignorable(name, config)) {
      fail("{}: unexpected tensor \"{}\": a {} model with this config.json has no such weight", dir, name,
           io::architecture_name(config.architecture));
    }
  }
}

// Names the tensor, where the value sits and the dtype it was read as.
[[noreturn]] void fail_non_finite(const std::string& dir, const std::string& name, const NonFinite& found,
                                  at::ScalarType dtype, std::string_view where) {
  fail("{}: tensor \"{}\": expected finite weights, found {} at [{}]{} (read as {})", dir, name, found.value,
       fmt::join(found.index, ", "), where, c10::toString(dtype));
}

// The decoder layers the checkpoint holds, from the names model.layers.<i>.*,
// against num_hidden_layers: a config claiming more is refused before
// target_tensor_specs builds a list per layer (for 10^9 layers that filled
// gigabytes for minutes before the first missing tensor was noticed). A
// config claiming fewer is left to check_checkpoint, which names the first
// tensor it does not explain.
void check_layer_count(const io::SafetensorsModel& checkpoint, const io::TargetConfig& config) {
  const std::string prefix = "model.layers.";
  std::int64_t layers = 0;  // the highest index + 1
  for (const std::string& name : checkpoint.names()) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::size_t dot = name.find('.', prefix.size());
    const std::string digits = name.substr(prefix.size(), dot - prefix.size());
    const bool index = dot != std::string::npos && !digits.empty() && digits.size() <= 9 &&
                       std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (index) layers = std::max<std::int64_t>(layers, std::stoll(digits) + 1);  // others: unexpected tensors
  }
  if (config.num_hidden_layers <= layers) return;
  const std::string config_json = (std::filesystem::path(checkpoint.dir()) / "config.json").string();
  const std::string found = layers == 0 ? "none" : fmt::format("model.layers.0 to model.layers.{}", layers - 1);
  fail("{}: field \"num_hidden_layers\": expected {}, the layers the weights in {} hold ({}), found {}", config_json,
       layers, checkpoint.dir(), found, config.num_hidden_layers);
}

// Every tensor `config` calls for, this TP member's slice of it, each an
// owned copy on `device` in `dtype` (never a view of the mapped file, so
// callers may write into them; only the slice's pages are read).
std::unordered_map<std::string, at::Tensor> load_weights(const std::string& dir, const io::TargetConfig& config,
                                                         at::Device device, at::ScalarType dtype,
                                                         const parallel::Group& tp, WeightCheck check) {
  io::SafetensorsModel checkpoint = io::SafetensorsModel::open(dir);  // the headers only
  check_layer_count(checkpoint, config);
  std::vector<TargetTensorSpec> specs = target_tensor_specs(config);
  std::vector<parallel::TpShard> shards;  // checked before any tensor is read
  for (const TargetTensorSpec& spec : specs) shards.push_back(parallel::TpShard::of(spec.split, tp.rank(), tp.size(), "--tp-size"));
  check_checkpoint(checkpoint, specs, config);
  std::unordered_map<std::string, at::Tensor> weights;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    at::Tensor& weight = weights[specs[i].name];
    weight = shards[i].slice(checkpoint.tensor(specs[i].name)).to(device, dtype, /*non_blocking=*/false, /*copy=*/true);
    if (std::optional<NonFinite> found = first_non_finite(weight, check)) {
      fail_non_finite(dir, specs[i].name, *found, dtype, tp.size() > 1 ? " of this rank's --tp-size slice" : "");
    }
  }
  return weights;
}

}  // namespace

TargetModel TargetModel::load(const std::string& dir, at::Device device, at::ScalarType dtype, parallel::Group tp,
                              WeightCheck check) {
  if (dtype != at::kFloat && dtype != at::kBFloat16 && dtype != at::kHalf) {
    fail("{}: target compute dtype must be float32, bfloat16 or float16, found {}", dir, c10::toString(dtype));
  }
  io::TargetConfig config = io::load_target_config(dir);
  std::unordered_map<std::string, at::Tensor> weights = load_weights(dir, config, device, dtype, tp, check);
  return from_weights(std::move(config), std::move(weights), device, dtype, std::move(tp),
                      (std::filesystem::path(dir) / "config.json").string());
}

TargetModel TargetModel::from_weights(io::TargetConfig config, std::unordered_map<std::string, at::Tensor> w,
                                      at::Device device, at::ScalarType dtype, parallel::Group tp,
                                      const std::string& source) {
  // Present, and whole-shaped without TP (load() has checked its slices).
  for (const TargetTensorSpec& spec : target_tensor_specs(config)) {
    auto it = w.find(spec.name);
    if (it == w.end()) fail("{}: the weights have no tensor {}", source, spec.name);
    if (tp.size() == 1 && it->second.sizes() != at::IntArrayRef(spec.shape)) {
      fail("{}: tensor {} is [{}], expected [{}]", source, spec.name, fmt::join(it->second.sizes(), ", "),
           fmt::join(spec.shape, ", "));
    }
  }
  auto take = [&w](const std::string& name) {
    auto it = w.find(name);
    return it == w.end() ? at::Tensor() : it->second;  // absent: an optional tensor the config leaves out
  };

  TargetModel model(config, device, dtype, std::move(tp));
  model.embed_tokens_ = take("model.embed_tokens.weight");
  model.lm_head_ = config.tie_word_embeddings ? model.embed_tokens_ : take("lm_head.weight");
  model.norm_ = take("model.norm.weight");
  for (std::int64_t i = 0; i < config.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    Layer layer;
    layer.input_layernorm = take(p + "input_layernorm.weight");
    layer.post_attention_layernorm = take(p + "post_attention_layernorm.weight");
    layer.q_proj = take(p + "self_attn.q_proj.weight");
    layer.k_proj = take(p + "self_attn.k_proj.weight");
    layer.v_proj = take(p + "self_attn.v_proj.weight");
    layer.o_proj = take(p + "self_attn.o_proj.weight");
    layer.q_bias = take(p + "self_attn.q_proj.bias");
    layer.k_bias = take(p + "self_attn.k_proj.bias");
    layer.v_bias = take(p + "self_attn.v_proj.bias");
    layer.o_bias = take(p + "self_attn.o_proj.bias");
    layer.q_norm = take(p + "self_attn.q_norm.weight");
    layer.k_norm = take(p + "self_attn.k_norm.weight");
    layer.gate_proj = take(p + "mlp.gate_proj.weight");
    layer.up_proj = take(p + "mlp.up_proj.weight");
    layer.down_proj = take(p + "mlp.down_proj.weight");
    model.layers_.push_back(std::move(layer));
  }
  model.inv_freq_ = rope_inv_freq(config.head_dim, config.rope_theta, config.rope_scaling, source).to(device);
  return model;
}

at::Tensor TargetModel::decoder_layer(std::size_t index, const at::Tensor& x, const RopeTable& rope,
                                      const Decoding* decoding) const {
  const Layer& layer = layers_[index];
  const std::int64_t b = x.size(0), l = x.size(1), d = config_.head_dim;
  // This TP member's heads; o_proj and down_proj give partial sums, added
  // over the group before their biases (Megatron's row-parallel layers).
  const std::int64_t heads = layer.q_proj.size(0) / d, kv_heads = layer.k_proj.size(0) / d;
  const double eps = config_.rms_norm_eps;

  at::Tensor h = rms_norm(x, layer.input_layernorm, eps);
  at::Tensor q = at::linear(h, layer.q_proj, layer.q_bias).view({b, l, heads, d});
  at::Tensor k = at::linear(h, layer.k_proj, layer.k_bias).view({b, l, kv_heads, d});
  at::Tensor v = at::linear(h, layer.v_proj, layer.v_bias).view({b, l, kv_heads, d});
  if (config_.qk_norm) {  // Qwen3: RMSNorm over each head's d features, before RoPE
    q = rms_norm(q, layer.q_norm, eps);
    k = rms_norm(k, layer.k_norm, eps);
  }
  q = apply_rope(q.transpose(1, 2), rope);  // [B, h, L, d]
  k = apply_rope(k.transpose(1, 2), rope);  // [B, kv, L, d]
  at::Tensor attn;
  if (decoding == nullptr || !decoding->mask.defined()) {
    attn = causal_attention(q, k, v.transpose(1, 2));
    if (decoding != nullptr) decoding->cache.append(index, k, v.transpose(1, 2));  // a prefill
  } else {
    auto [keys, values] = decoding->cache.append(index, k, v.transpose(1, 2));
    attn = masked_attention(q, keys, values, decoding->mask);
  }
  at::Tensor attn_out = parallel::reduce_from_tp(at::linear(attn.transpose(1, 2).reshape({b, l, heads * d}), layer.o_proj), tp_);
  at::Tensor out = x + (layer.o_bias.defined() ? attn_out + layer.o_bias : attn_out);
  return out + parallel::reduce_from_tp(swiglu_mlp(rms_norm(out, layer.post_attention_layernorm, eps), layer.gate_proj,
                                                   layer.up_proj, layer.down_proj),
                                        tp_);
}

TargetFeatures TargetModel::forward(const at::Tensor& input_ids, const std::vector<int>& aux_layers) const {
  return run(input_ids, at::arange(input_ids.size(-1), input_ids.options().device(device_)), aux_layers, nullptr);
}

TargetFeatures TargetModel::prefill(const at::Tensor& input_ids, KvCache& cache,
                                    const std::vector<int>& aux_layers) const {
  if (cache.length() != 0) fail("target prefill: the cache must be empty, it holds {} positions", cache.length());
  const Decoding decoding{cache, at::Tensor()};
  return run(input_ids, at::arange(input_ids.size(-1), input_ids.options().device(device_)), aux_layers, &decoding);
}

TargetFeatures TargetModel::extend(const at::Tensor& input_ids, const at::Tensor& positions, const at::Tensor& mask,
                                   KvCache& cache, const std::vector<int>& aux_layers) const {
  check_decoding_inputs("target extend", input_ids, positions, mask, cache);
  const Decoding decoding{cache, mask.to(device_).unsqueeze(1)};
  return run(input_ids, positions.to(device_, at::kLong), aux_layers, &decoding);
}

TargetFeatures TargetModel::run(const at::Tensor& input_ids, const at::Tensor& positions,
                                const std::vector<int>& aux_layers, const Decoding* decoding) const {
  at::NoGradGuard no_grad;
  if (input_ids.dim() != 2 || input_ids.scalar_type() != at::kLong || input_ids.numel() == 0) {
    fail("target forward: input_ids must be a non-empty [B, L] int64 tensor, found {} {}",
         c10::toString(input_ids.scalar_type()), shape_string(input_ids.sizes()));
  }
  std::vector<int> aux = aux_layers;
  std::sort(aux.begin(), aux.end());
  const int layer_count = static_cast<int>(layers_.size());
  if (aux.empty() || aux.front() < 0 || aux.back() >= layer_count ||
      std::adjacent_find(aux.begin(), aux.end()) != aux.end()) {
    fail("target forward: aux layers [{}] must be distinct layer indices in [0, {}]", fmt::join(aux_layers, ", "),
         layer_count - 1);
  }
  at::Tensor ids = input_ids.to(device_);
  // An out-of-range id would read past the embedding (a device assert on CUDA).
  const std::int64_t lowest = ids.min().item<std::int64_t>(), highest = ids.max().item<std::int64_t>();
  if (lowest < 0 || highest >= config_.vocab_size) {
    fail("target forward: token ids must lie in [0, {}), found {}", config_.vocab_size,
         lowest < 0 ? lowest : highest);
  }

  const std::int64_t b = ids.size(0), l = ids.size(1), hidden = config_.hidden_size;
  RopeTable rope = rope_table(inv_freq_, positions, dtype_);
  TargetFeatures features;
  // Filled in place, so the layer outputs never exist twice.
  features.aux = at::empty({b, l, static_cast<std::int64_t>(aux.size()) * hidden}, embed_tokens_.options());
  at::Tensor x = parallel::vocab_parallel_embedding(embed_tokens_, ids, tp_);  // [B, L, H]
  std::size_t next_aux = 0;
  for (int i = 0; i < layer_count; ++i) {
    x = decoder_layer(static_cast<std::size_t>(i), x, rope, decoding);
    if (next_aux < aux.size() && i == aux[next_aux]) {
      features.aux.narrow(-1, static_cast<std::int64_t>(next_aux) * hidden, hidden).copy_(x);
      ++next_aux;
    }
  }
  features.hidden = rms_norm(x, norm_, config_.rms_norm_eps);
  return features;
}

at::Tensor read_target_rows(const std::string& dir, TargetMatrix which, const at::Tensor& ids, at::Device device,
                            at::ScalarType dtype, WeightCheck check) {
  io::TargetConfig config = io::load_target_config(dir);
  const std::string name =
      which == TargetMatrix::LmHead && !config.tie_word_embeddings ? "lm_head.weight" : "model.embed_tokens.weight";
  io::SafetensorsModel checkpoint = io::SafetensorsModel::open(dir);
  const std::vector<std::int64_t> shape = {config.vocab_size, config.hidden_size};
  if (!checkpoint.contains(name) || checkpoint.info(name).shape != shape || !is_float(checkpoint.info(name).dtype)) {
    fail("{}: tensor \"{}\": expected F32, F16 or BF16 of shape {} from config.json", dir, name,
         shape_string(shape));
  }
  at::Tensor rows = checkpoint.tensor(name).index_select(0, ids.cpu()).to(device, dtype);
  if (std::optional<NonFinite> found = first_non_finite(rows, check)) {
    found->index[0] = ids.cpu()[found->index[0]].item<std::int64_t>();  // the row in the file
    fail_non_finite(dir, name, *found, dtype, "");
  }
  return rows;
}

}  // namespace talon::model
