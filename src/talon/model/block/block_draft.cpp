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

BlockDraft BlockDraft::create(const BlockDraftConfig& config, at::Tensor embed_tokens, at::Tensor lm_head,
                              at::Generator generator, const at::TensorOptions& options) {
  BlockDraft draft;
  draft.config = config;
  draft.embed_tokens = std::move(embed_tokens);
  draft.lm_head = std::move(lm_head);
  draft.layers.resize(static_cast<std::size_t>(config.num_hidden_layers));
  const auto shapes = parameter_shapes(config);
  std::vector<at::Tensor*> slots = draft.slots();
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const auto& [name, shape] = shapes[i];
    *slots[i] = is_norm(name) ? at::ones(shape, at::kFloat)
                              : at::empty(shape, at::kFloat).normal_(0, kInitializerRange, generator);
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
}

void BlockDraft::to(const at::TensorOptions& options) {
  for (at::Tensor* t : slots()) {
    *t = t->detach().to(options.device(), options.dtype().toScalarType()).clone().set_requires_grad(true);
  }
}

}  // namespace talon::model
