#include "talon/model/block/block_draft.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

#include "talon/util/error.h"

namespace talon::model {
namespace {

struct LayerSlot {
  const char* name;  // under layers.{i}.
  at::Tensor BlockLayer::*member;
};

constexpr LayerSlot kLayerSlots[] = {
    {"self_attn.q_proj.weight", &BlockLayer::q_proj},
    {"self_attn.k_proj.weight", &BlockLayer::k_proj},
    {"self_attn.v_proj.weight", &BlockLayer::v_proj},
    {"self_attn.o_proj.weight", &BlockLayer::o_proj},
    {"self_attn.q_norm.weight", &BlockLayer::q_norm},
    {"self_attn.k_norm.weight", &BlockLayer::k_norm},
    {"mlp.gate_proj.weight", &BlockLayer::gate_proj},
    {"mlp.up_proj.weight", &BlockLayer::up_proj},
    {"mlp.down_proj.weight", &BlockLayer::down_proj},
    {"input_layernorm.weight", &BlockLayer::input_layernorm},
    {"post_attention_layernorm.weight", &BlockLayer::post_attention_layernorm},
};

bool is_norm(const std::string& name) { return name.find("norm") != std::string::npos; }

// Megatron's layout of a parameter (see the header); fc and the norms replicated.
parallel::Split split_of(const BlockDraftConfig& c, const std::string& name) {
  const parallel::Split heads{0, c.num_attention_heads, false, "num_attention_heads of the draft"};
  const parallel::Split kv_heads{0, c.num_key_value_heads, true, "num_key_value_heads of the draft"};
  const parallel::Split mlp{0, c.intermediate_size, false, "intermediate_size of the draft"};
  auto ends_with = [&](const char* suffix) {
    const std::string s(suffix);
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  if (ends_with("self_attn.q_proj.weight")) return heads;
  if (ends_with("self_attn.k_proj.weight") || ends_with("self_attn.v_proj.weight")) return kv_heads;
  if (ends_with("self_attn.o_proj.weight")) return {1, heads.units, false, heads.what};
  if (ends_with("mlp.gate_proj.weight") || ends_with("mlp.up_proj.weight")) return mlp;
  if (ends_with("mlp.down_proj.weight")) return {1, mlp.units, false, mlp.what};
  return parallel::Split::none();
}

// Qwen3Config's initializer_range: the std of the normal every Linear of
// the reference drafts starts from (Qwen3PreTrainedModel._init_weights).
constexpr double kInitializerRange = 0.02;

}  // namespace

std::vector<std::pair<std::string, std::vector<std::int64_t>>> BlockDraft::parameter_shapes(
    const BlockDraftConfig& c) {
  const std::int64_t h = c.hidden_size, d = c.head_dim, q = c.num_attention_heads * d, kv = c.num_key_value_heads * d;
  const std::map<std::string, std::vector<std::int64_t>> layer_shapes = {
      {"self_attn.q_proj.weight", {q, h}},         {"self_attn.k_proj.weight", {kv, h}},
      {"self_attn.v_proj.weight", {kv, h}},        {"self_attn.o_proj.weight", {h, q}},
      {"self_attn.q_norm.weight", {d}},            {"self_attn.k_norm.weight", {d}},
      {"mlp.gate_proj.weight", {c.intermediate_size, h}}, {"mlp.up_proj.weight", {c.intermediate_size, h}},
      {"mlp.down_proj.weight", {h, c.intermediate_size}}, {"input_layernorm.weight", {h}},
      {"post_attention_layernorm.weight", {h}},
  };
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> out = {
      {"fc.weight", {h, static_cast<std::int64_t>(c.target_layer_ids.size()) * h}}, {"hidden_norm.weight", {h}}};
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
    for (const LayerSlot& slot : kLayerSlots) {
      out.emplace_back(fmt::format("layers.{}.{}", i, slot.name), layer_shapes.at(slot.name));
    }
  }
  out.emplace_back("norm.weight", std::vector<std::int64_t>{h});
  return out;
}

std::vector<at::Tensor*> BlockDraft::slots() {
  std::vector<at::Tensor*> out = {&fc, &hidden_norm};
  for (BlockLayer& layer : layers) {
    for (const LayerSlot& slot : kLayerSlots) out.push_back(&(layer.*slot.member));
  }
  out.push_back(&norm);
  return out;
}

std::vector<parallel::TpShard> BlockDraft::shards(const BlockDraftConfig& config, const parallel::Group& tp) {
  std::vector<parallel::TpShard> out;
  for (const auto& [name, shape] : parameter_shapes(config)) {
    parallel::TpShard shard = parallel::TpShard::of(split_of(config, name), tp.rank(), tp.size(), "--draft-tp-size");
    // The per-head q/k norms are whole on every member, each member's
    // gradient from its own heads only: the sum over the group is the whole.
    const bool head_norm = name.find("self_attn.q_norm") != std::string::npos ||
                           name.find("self_attn.k_norm") != std::string::npos;
    if (head_norm && tp.size() > 1) shard.partial_grads = true;
    out.push_back(shard);
  }
  return out;
}

BlockDraft BlockDraft::create(const BlockDraftConfig& config, at::Tensor embed_tokens, at::Tensor lm_head,
                              at::Generator generator, const at::TensorOptions& options, parallel::Group tp) {
  BlockDraft draft;
  draft.config = config;
  draft.tp = std::move(tp);
  draft.embed_tokens = std::move(embed_tokens);
  draft.lm_head = std::move(lm_head);
  draft.layers.resize(static_cast<std::size_t>(config.num_hidden_layers));
  const auto shapes = parameter_shapes(config);
  const std::vector<parallel::TpShard> layout = shards(config, draft.tp);
  std::vector<at::Tensor*> slots = draft.slots();
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const auto& [name, shape] = shapes[i];
    at::Tensor whole = is_norm(name) ? at::ones(shape, at::kFloat)
                                     : at::empty(shape, at::kFloat).normal_(0, kInitializerRange, generator);
    *slots[i] = layout[i].slice(whole);
  }
  draft.to(options);
  return draft;
}

NamedTensors BlockDraft::parameters() const {
  const auto shapes = parameter_shapes(config);
  std::vector<at::Tensor*> slots = const_cast<BlockDraft*>(this)->slots();
  NamedTensors out;
  for (std::size_t i = 0; i < shapes.size(); ++i) out.emplace_back(shapes[i].first, *slots[i]);
  return out;
}

void load_slots(const std::vector<std::pair<std::string, std::vector<std::int64_t>>>& shapes,
                const std::vector<at::Tensor*>& slots, const NamedTensors& tensors, const std::string& source) {
  std::map<std::string, at::Tensor> by_name(tensors.begin(), tensors.end());
  for (const auto& [name, shape] : shapes) {
    auto it = by_name.find(name);
    if (it == by_name.end()) fail("{}: missing tensor {}", source, name);
    if (it->second.sizes() != at::IntArrayRef(shape)) {
      fail("{}: tensor {} has shape {}, expected {} from the draft config", source, name,
           fmt::join(it->second.sizes(), "x"), fmt::join(shape, "x"));
    }
  }
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    at::Tensor& target = *slots[i];
    target = by_name.at(shapes[i].first).to(target.device(), target.scalar_type()).clone().set_requires_grad(true);
  }
}

void BlockDraft::load_parameters(const NamedTensors& tensors, const std::string& source) {
  load_slots(parameter_shapes(config), slots(), tensors, source);
  const std::vector<parallel::TpShard> layout = shards();
  std::vector<at::Tensor*> all = slots();
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (layout[i].parts > 1) *all[i] = layout[i].slice(*all[i]).clone().detach().set_requires_grad(true);
  }
}

void BlockDraft::to(const at::TensorOptions& options) {
  for (at::Tensor* t : slots()) {
    *t = t->detach().to(options.device(), options.dtype().toScalarType()).clone().set_requires_grad(true);
  }
}

}  // namespace talon::model
