#include "talon/model/eagle3/eagle3_draft.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include <cmath>
#include <map>

#include "talon/model/layers.h"
#include "talon/util/error.h"

namespace talon::model {
namespace {

struct ParameterSlot {
  const char* name;
  at::Tensor Eagle3Draft::*member;
};

// Checkpoint names (brief §3) in the order they are created and saved.
constexpr ParameterSlot kParameters[] = {
    {"fc.weight", &Eagle3Draft::fc},
    {"fc_norm.0.weight", &Eagle3Draft::fc_norm_0},
    {"fc_norm.1.weight", &Eagle3Draft::fc_norm_1},
    {"fc_norm.2.weight", &Eagle3Draft::fc_norm_2},
    {"midlayer.self_attn.q_proj.weight", &Eagle3Draft::q_proj},
    {"midlayer.self_attn.k_proj.weight", &Eagle3Draft::k_proj},
    {"midlayer.self_attn.v_proj.weight", &Eagle3Draft::v_proj},
    {"midlayer.self_attn.o_proj.weight", &Eagle3Draft::o_proj},
    {"midlayer.mlp.gate_proj.weight", &Eagle3Draft::gate_proj},
    {"midlayer.mlp.up_proj.weight", &Eagle3Draft::up_proj},
    {"midlayer.mlp.down_proj.weight", &Eagle3Draft::down_proj},
    {"midlayer.input_layernorm.weight", &Eagle3Draft::input_layernorm},
    {"midlayer.hidden_norm.weight", &Eagle3Draft::hidden_norm},
    {"midlayer.post_attention_layernorm.weight", &Eagle3Draft::post_attention_layernorm},
    {"norm.weight", &Eagle3Draft::norm},
    {"lm_head.weight", &Eagle3Draft::lm_head},
};

// Megatron's layout of each parameter (see the header).
parallel::Split split_of(const io::DraftConfig& c, const std::string& name) {
  const parallel::Split heads{0, c.num_attention_heads, false, "num_attention_heads of the draft"};
  const parallel::Split kv_heads{0, c.num_key_value_heads, true, "num_key_value_heads of the draft"};
  const parallel::Split mlp{0, c.intermediate_size, false, "intermediate_size of the draft"};
  const std::map<std::string, parallel::Split> splits = {
      {"midlayer.self_attn.q_proj.weight", heads},
      {"midlayer.self_attn.k_proj.weight", kv_heads},
      {"midlayer.self_attn.v_proj.weight", kv_heads},
      {"midlayer.self_attn.o_proj.weight", {1, heads.units, false, heads.what}},
      {"midlayer.mlp.gate_proj.weight", mlp},
      {"midlayer.mlp.up_proj.weight", mlp},
      {"midlayer.mlp.down_proj.weight", {1, mlp.units, false, mlp.what}},
      {"lm_head.weight", {0, c.draft_vocab_size, false, "draft_vocab_size of the draft"}},
      {"embed_tokens.weight", {0, c.vocab_size, false, "vocab_size of the draft"}},
  };
  auto it = splits.find(name);
  return it == splits.end() ? parallel::Split::none() : it->second;  // fc and the norms
}

bool is_norm(const std::string& name) { return name.find("norm") != std::string::npos; }

// The slots a draft of `config` has: EAGLE-3.1's fc_norm only with fc_norm.
std::vector<ParameterSlot> slots_of(const io::DraftConfig& config) {
  std::vector<ParameterSlot> out;
  for (const ParameterSlot& slot : kParameters) {
    if (std::string(slot.name).rfind("fc_norm.", 0) == 0 && !config.fc_norm) continue;
    out.push_back(slot);
  }
  return out;
}

}  // namespace

std::vector<std::int64_t> Eagle3Draft::whole_shape(const io::DraftConfig& c, const std::string& name) {
  const std::int64_t h = c.hidden_size, d = c.head_dim;
  const std::map<std::string, std::vector<std::int64_t>> shapes = {
      {"fc.weight", {h, 3 * c.target_hidden_size}},
      {"midlayer.self_attn.q_proj.weight", {c.num_attention_heads * d, 2 * h}},
      {"midlayer.self_attn.k_proj.weight", {c.num_key_value_heads * d, 2 * h}},
      {"midlayer.self_attn.v_proj.weight", {c.num_key_value_heads * d, 2 * h}},
      {"midlayer.self_attn.o_proj.weight", {h, c.num_attention_heads * d}},
      {"midlayer.mlp.gate_proj.weight", {c.intermediate_size, h}},
      {"midlayer.mlp.up_proj.weight", {c.intermediate_size, h}},
      {"midlayer.mlp.down_proj.weight", {h, c.intermediate_size}},
      {"lm_head.weight", {c.draft_vocab_size, h}},
  };
  auto it = shapes.find(name);
  if (name.rfind("fc_norm.", 0) == 0) return {c.target_hidden_size};  // over one aux layer's features
  return it == shapes.end() ? std::vector<std::int64_t>{h} : it->second;  // the norms
}

Eagle3Draft Eagle3Draft::create(const io::DraftConfig& config, at::Tensor embed_tokens, at::Generator generator,
                                const at::TensorOptions& options, parallel::Group tp) {
  Eagle3Draft draft;
  draft.config = config;
  draft.embed_tokens = std::move(embed_tokens);
  draft.tp = std::move(tp);
  for (const ParameterSlot& slot : slots_of(config)) {
    std::vector<std::int64_t> shape = whole_shape(config, slot.name);
    at::Tensor value;
    if (is_norm(slot.name)) {
      value = at::ones(shape, at::kFloat);
    } else {
      const double bound = 1.0 / std::sqrt(static_cast<double>(shape[1]));
      value = at::empty(shape, at::kFloat).uniform_(-bound, bound, generator);
    }
    draft.*slot.member = shard(config, slot.name, draft.tp).slice(value);
  }
  draft.to(options);
  return draft;
}

std::vector<parallel::TpShard> Eagle3Draft::shards(const io::DraftConfig& config, const parallel::Group& tp) {
  std::vector<parallel::TpShard> out;
  for (const ParameterSlot& slot : slots_of(config)) out.push_back(shard(config, slot.name, tp));
  return out;
}

parallel::TpShard Eagle3Draft::shard(const io::DraftConfig& config, const std::string& name,
                                      const parallel::Group& tp) {
  return parallel::TpShard::of(split_of(config, name), tp.rank(), tp.size(), "--draft-tp-size");
}

NamedTensors Eagle3Draft::parameters() const {
  NamedTensors out;
  for (const ParameterSlot& slot : slots_of(config)) out.emplace_back(slot.name, this->*slot.member);
  return out;
}

void Eagle3Draft::check_whole_shapes(const io::DraftConfig& config, const NamedTensors& tensors,
                                     const std::string& source) {
  std::map<std::string, at::Tensor> by_name(tensors.begin(), tensors.end());
  for (const ParameterSlot& slot : slots_of(config)) {
    auto it = by_name.find(slot.name);
    if (it == by_name.end()) fail("{}: missing tensor {}", source, slot.name);
    std::vector<std::int64_t> shape = whole_shape(config, slot.name);
    if (it->second.sizes() != at::IntArrayRef(shape)) {
      fail("{}: tensor {} has shape {}, expected {} from the draft config", source, slot.name,
           fmt::join(it->second.sizes(), "x"), fmt::join(shape, "x"));
    }
  }
}

void Eagle3Draft::load_parameters(const NamedTensors& tensors, const std::string& source) {
  check_whole_shapes(config, tensors, source);
  std::map<std::string, at::Tensor> by_name(tensors.begin(), tensors.end());
  for (const ParameterSlot& slot : slots_of(config)) {
    at::Tensor& target = this->*slot.member;  // keeps its device and dtype
    target = shard(config, slot.name, tp).slice(by_name.at(slot.name)).to(target.device(), target.scalar_type()).clone().set_requires_grad(true);
  }
}

at::Tensor fuse_aux(const Eagle3Draft& draft, const at::Tensor& aux) {
  const at::Tensor features = aux.to(draft.fc.scalar_type());
  if (!draft.config.fc_norm) return at::linear(features, draft.fc);
  const std::int64_t width = draft.config.target_hidden_size;
  const double eps = draft.config.rms_norm_eps;
  return at::linear(at::cat({rms_norm(features.narrow(-1, 0, width), draft.fc_norm_0, eps),
                             rms_norm(features.narrow(-1, width, width), draft.fc_norm_1, eps),
                             rms_norm(features.narrow(-1, 2 * width, width), draft.fc_norm_2, eps)},
                            -1),
                    draft.fc);
}

StepHidden step_hidden(const Eagle3Draft& draft, const at::Tensor& h) {
  at::Tensor normed = rms_norm(h, draft.norm, draft.config.rms_norm_eps);
  return draft.config.norm_output ? StepHidden{normed, normed} : StepHidden{h, normed};
}

void Eagle3Draft::to(const at::TensorOptions& options) {
  for (const ParameterSlot& slot : slots_of(config)) {
    at::Tensor& t = this->*slot.member;
    t = t.detach().to(options.device(), options.dtype().toScalarType()).clone().set_requires_grad(true);
  }
}

}  // namespace talon::model
