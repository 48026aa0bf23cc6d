#include "talon/model/target_weights.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

namespace talon::model {

std::vector<TargetTensorSpec> target_tensor_specs(const io::TargetConfig& c) {
  const std::int64_t h = c.hidden_size, d = c.head_dim;
  const std::int64_t q_width = c.num_attention_heads * d, kv_width = c.num_key_value_heads * d;
  const parallel::Split none = parallel::Split::none();
  const parallel::Split vocab{0, c.vocab_size, false, "vocab_size of the target"};
  auto heads = [&](int dim) { return parallel::Split{dim, c.num_attention_heads, false, "num_attention_heads of the target"}; };
  const parallel::Split kv_heads{0, c.num_key_value_heads, true, "num_key_value_heads of the target"};
  auto mlp = [&](int dim) { return parallel::Split{dim, c.intermediate_size, false, "intermediate_size of the target"}; };
  std::vector<TargetTensorSpec> specs;
  specs.push_back({"model.embed_tokens.weight", {c.vocab_size, h}, TensorRole::Matrix, vocab});
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string layer = "model.layers." + std::to_string(i) + ".";
    const std::string attn = layer + "self_attn.";
    specs.push_back({layer + "input_layernorm.weight", {h}, TensorRole::Norm, none});
    specs.push_back({attn + "q_proj.weight", {q_width, h}, TensorRole::Matrix, heads(0)});
    specs.push_back({attn + "k_proj.weight", {kv_width, h}, TensorRole::Matrix, kv_heads});
    specs.push_back({attn + "v_proj.weight", {kv_width, h}, TensorRole::Matrix, kv_heads});
    if (c.attention_bias) {
      specs.push_back({attn + "q_proj.bias", {q_width}, TensorRole::Bias, heads(0)});
      specs.push_back({attn + "k_proj.bias", {kv_width}, TensorRole::Bias, kv_heads});
      specs.push_back({attn + "v_proj.bias", {kv_width}, TensorRole::Bias, kv_heads});
    }
    if (c.qk_norm) {
      specs.push_back({attn + "q_norm.weight", {d}, TensorRole::Norm, none});
      specs.push_back({attn + "k_norm.weight", {d}, TensorRole::Norm, none});
    }
    specs.push_back({attn + "o_proj.weight", {h, q_width}, TensorRole::Matrix, heads(1)});
    // transformers' Llama and Qwen3 put attention_bias on o_proj too; Qwen2
    // biases q/k/v only.
    if (c.attention_bias && c.architecture != io::Architecture::Qwen2) {
      specs.push_back({attn + "o_proj.bias", {h}, TensorRole::Bias, none});
    }
    specs.push_back({layer + "post_attention_layernorm.weight", {h}, TensorRole::Norm, none});
    specs.push_back({layer + "mlp.gate_proj.weight", {c.intermediate_size, h}, TensorRole::Matrix, mlp(0)});
    specs.push_back({layer + "mlp.up_proj.weight", {c.intermediate_size, h}, TensorRole::Matrix, mlp(0)});
    specs.push_back({layer + "mlp.down_proj.weight", {h, c.intermediate_size}, TensorRole::Matrix, mlp(1)});
  }
  specs.push_back({"model.norm.weight", {h}, TensorRole::Norm, none});
  if (!c.tie_word_embeddings) specs.push_back({"lm_head.weight", {c.vocab_size, h}, TensorRole::Matrix, vocab});
  return specs;
}

io::NamedTensors random_target_weights(const io::TargetConfig& config, double initializer_range, std::uint64_t seed,
                                       at::ScalarType dtype) {
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  io::NamedTensors weights;
  for (const TargetTensorSpec& spec : target_tensor_specs(config)) {
    at::Tensor t;
    switch (spec.role) {
      case TensorRole::Matrix:
        t = at::empty(spec.shape, at::kFloat).normal_(0.0, initializer_range, generator);
        break;
      case TensorRole::Norm:
        t = at::ones(spec.shape, at::kFloat);
        break;
      case TensorRole::Bias:
        t = at::zeros(spec.shape, at::kFloat);
        break;
    }
    weights.emplace_back(spec.name, t.to(dtype));
  }
  return weights;
}

}  // namespace talon::model
