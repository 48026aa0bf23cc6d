#include "talon/model/dspark/markov_head.h"

#include <ATen/ATen.h>

#include "talon/model/block/block_draft.h"
#include "talon/util/enum_names.h"
#include "talon/util/error.h"

namespace talon::model {
namespace {

constexpr util::EnumName<MarkovHeadType> kHeadTypes[] = {
    {MarkovHeadType::Vanilla, "vanilla"}, {MarkovHeadType::Gated, "gated"}, {MarkovHeadType::Rnn, "rnn"}};

constexpr double kInitializerRange = 0.02;  // Qwen3PreTrainedModel._init_weights

// w1[prev]: [..] ids -> [.., r].
at::Tensor embed_previous(const MarkovHead& head, const at::Tensor& prev) {
  std::vector<std::int64_t> shape = prev.sizes().vec();
  shape.push_back(head.config.rank);
  return head.w1.index_select(0, prev.flatten()).view(shape);
}

bool is_bias(const std::string& name) { return name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0; }

}  // namespace

MarkovHeadType parse_markov_head_type(const std::string& name) {
  return util::parse_enum(kHeadTypes, name, "markov_head_type");
}

const char* markov_head_type_name(MarkovHeadType type) { return util::enum_name(kHeadTypes, type); }

std::vector<std::pair<std::string, std::vector<std::int64_t>>> MarkovHead::parameter_shapes(
    const MarkovConfig& c, std::int64_t vocab, std::int64_t hidden) {
  const std::int64_t r = c.rank;
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> out = {{"markov_head.markov_w1.weight", {vocab, r}},
                                                                        {"markov_head.markov_w2.weight", {vocab, r}}};
  if (c.type == MarkovHeadType::Gated) {
    out.push_back({"markov_head.gate_proj.weight", {r, hidden + r}});
    out.push_back({"markov_head.gate_proj.bias", {r}});
  } else if (c.type == MarkovHeadType::Rnn) {
    out.push_back({"markov_head.joint_proj.weight", {3 * r, 2 * r + hidden}});
    out.push_back({"markov_head.joint_proj.bias", {3 * r}});
  }
  if (c.confidence_head) {
    out.push_back({"confidence_head.proj.weight", {1, hidden + (c.confidence_with_markov ? r : 0)}});
    out.push_back({"confidence_head.proj.bias", {1}});
  }
  return out;
}

std::vector<at::Tensor*> MarkovHead::slots() {
  std::vector<at::Tensor*> out = {&w1, &w2};
  if (config.type == MarkovHeadType::Gated) out.insert(out.end(), {&gate_weight, &gate_bias});
  if (config.type == MarkovHeadType::Rnn) out.insert(out.end(), {&joint_weight, &joint_bias});
  if (config.confidence_head) out.insert(out.end(), {&confidence_weight, &confidence_bias});
  return out;
}

MarkovHead MarkovHead::create(const MarkovConfig& config, std::int64_t vocab, std::int64_t hidden,
                              at::Generator generator, const at::TensorOptions& options) {
  if (config.rank <= 0) fail("DSpark: markov_rank must be positive, found {}", config.rank);
  MarkovHead head;
  head.config = config;
  const auto shapes = parameter_shapes(config, vocab, hidden);
  std::vector<at::Tensor*> slots = head.slots();
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const auto& [name, shape] = shapes[i];
    at::Tensor value = is_bias(name) ? at::zeros(shape, at::kFloat)
                                     : at::empty(shape, at::kFloat).normal_(0, kInitializerRange, generator);
    *slots[i] = value.to(options).set_requires_grad(true);
  }
  return head;
}

void MarkovHead::load_parameters(const NamedTensors& tensors, std::int64_t vocab_size, std::int64_t hidden_size,
                                 const std::string& source) {
  load_slots(parameter_shapes(config, vocab_size, hidden_size), slots(), tensors, source);
}

at::Tensor markov_initial_state(const MarkovHead& head, const at::Tensor& hidden) {
  if (head.config.type != MarkovHeadType::Rnn) return {};
  std::vector<std::int64_t> shape = hidden.sizes().vec();
  shape.back() = head.config.rank;
  return at::zeros(shape, hidden.options());
}

MarkovStep markov_step(const MarkovHead& head, const at::Tensor& state, const at::Tensor& prev,
                       const at::Tensor& hidden) {
  at::Tensor embedded = embed_previous(head, prev);
  switch (head.config.type) {
    case MarkovHeadType::Vanilla:
      return {state, at::linear(embedded, head.w2)};
    case MarkovHeadType::Gated: {
      at::Tensor gate = at::sigmoid(at::linear(at::cat({hidden, embedded.to(hidden.scalar_type())}, -1),
                                               head.gate_weight, head.gate_bias));
      return {state, at::linear(gate.to(embedded.scalar_type()) * embedded, head.w2)};
    }
    case MarkovHeadType::Rnn: {
      at::Tensor joint = at::linear(at::cat({state, embedded.to(hidden.scalar_type()), hidden}, -1),
                                    head.joint_weight, head.joint_bias);
      std::vector<at::Tensor> parts = joint.chunk(3, -1);  // gate, candidate, output
      at::Tensor gate = at::sigmoid(parts[0]);
      at::Tensor next = gate * state + (1 - gate) * at::tanh(parts[1]);
      return {next, at::linear(at::tanh(parts[2]), head.w2)};
    }
  }
  fail("DSpark: unknown Markov head type");
}

at::Tensor markov_block_bias(const MarkovHead& head, const at::Tensor& prev, const at::Tensor& hidden) {
  const std::int64_t slots = prev.size(-1);
  at::Tensor state = markov_initial_state(head, hidden.select(-2, 0));
  std::vector<at::Tensor> biases;
  for (std::int64_t k = 0; k < slots; ++k) {
    MarkovStep step = markov_step(head, state, prev.select(-1, k), hidden.select(-2, k));
    state = step.state;
    biases.push_back(step.bias);
  }
  return at::stack(biases, -2);
}

at::Tensor confidence_logits(const MarkovHead& head, const at::Tensor& prev, const at::Tensor& hidden) {
  at::Tensor features = hidden;
  if (head.config.confidence_with_markov) {
    features = at::cat({hidden, embed_previous(head, prev).to(hidden.scalar_type())}, -1);
  }
  return at::linear(features, head.confidence_weight, head.confidence_bias).squeeze(-1);
}

}  // namespace talon::model
