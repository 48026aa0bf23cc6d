// DSpark's heads on top of the block backbone (design dflash-dspark.md
// §3.1, DeepSpec's markov_head.py): the Markov head adds to slot k's
// logits a bias that depends on the token before it, and the confidence
// head predicts from [h_k ; w1[prev_k]] whether slot k will be accepted.
// Member names are the checkpoint names under markov_head. and
// confidence_head.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "talon/io/safetensors.h"

namespace talon::model {

using io::NamedTensors;

enum class MarkovHeadType { Vanilla, Gated, Rnn };
MarkovHeadType parse_markov_head_type(const std::string& name);  // "vanilla", "gated", "rnn"
const char* markov_head_type_name(MarkovHeadType type);

struct MarkovConfig {
  std::int64_t rank = 256;  // r; SGLang requires > 0
  MarkovHeadType type = MarkovHeadType::Vanilla;
  bool confidence_head = true;
  bool confidence_with_markov = true;  // the confidence head also reads w1[prev]
};

struct MarkovHead {
  MarkovConfig config;
  at::Tensor w1;                        // markov_w1.weight [V, r]: an embedding of the previous token
  at::Tensor w2;                        // markov_w2.weight [V, r]: r -> V, no bias
  at::Tensor gate_weight, gate_bias;    // gated: gate_proj [r, H + r], [r]
  at::Tensor joint_weight, joint_bias;  // rnn: joint_proj [3r, 2r + H], [3r]
  at::Tensor confidence_weight, confidence_bias;  // confidence_head.proj [1, H (+ r)], [1]

  // The tensors this config has, with their checkpoint names and shapes.
  static std::vector<std::pair<std::string, std::vector<std::int64_t>>> parameter_shapes(
      const MarkovConfig& config, std::int64_t vocab_size, std::int64_t hidden_size);
  // As the reference's post_init: weights and embeddings N(0, 0.02^2),
  // biases 0, drawn in checkpoint-name order.
  static MarkovHead create(const MarkovConfig& config, std::int64_t vocab_size, std::int64_t hidden_size,
                           at::Generator generator, const at::TensorOptions& options);
  std::vector<at::Tensor*> slots();  // in parameter_shapes order; undefined members are not in it
  // Replaces the tensors from `tensors` by name (block_draft.h's load_slots).
  void load_parameters(const NamedTensors& tensors, std::int64_t vocab_size, std::int64_t hidden_size,
                       const std::string& source);
};

// One slot's Markov step: the state carried along the block (rnn only; an
// empty tensor for the others), prev [..] token ids, hidden [.., H] ->
// the new state and the bias [.., V]. The rnn state starts at zeros [.., r].
struct MarkovStep {
  at::Tensor state, bias;
};
MarkovStep markov_step(const MarkovHead& head, const at::Tensor& state, const at::Tensor& prev,
                       const at::Tensor& hidden);
at::Tensor markov_initial_state(const MarkovHead& head, const at::Tensor& hidden);  // hidden [.., H]

// The bias of every slot of a block, teacher-forced: prev [.., bs] the
// tokens before each slot, hidden [.., bs, H] -> [.., bs, V], the slots in
// order (rnn carries its state from slot to slot).
at::Tensor markov_block_bias(const MarkovHead& head, const at::Tensor& prev, const at::Tensor& hidden);

// The confidence logit of each slot, [..]: proj([hidden ; w1[prev]]) (or
// proj(hidden) without the Markov features).
at::Tensor confidence_logits(const MarkovHead& head, const at::Tensor& prev, const at::Tensor& hidden);

}  // namespace talon::model
