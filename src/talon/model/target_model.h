// The target model (Llama 3.x, Qwen2, Qwen3 decoders) run forward only, to
// produce what the drafts train on (brief §2 "Target features"): the
// residual stream after chosen layers (EAGLE-3's three, the block drafters'
// target_layer_ids) and the final-normed last hidden state.
// Weights keep their Hugging Face names (target_weights.h lists them).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <array>
#include <string>
#include <unordered_map>
#include <vector>

#include "talon/io/hf_config.h"
#include "talon/model/kv_cache.h"
#include "talon/model/weight_check.h"
#include "talon/parallel/group.h"

namespace talon::model {

struct RopeTable;  // layers.h

struct TargetFeatures {
  at::Tensor aux;     // [B, L, m H]: outputs of the m aux layers (residual stream
                      // after the layer, before the final norm), ascending layer order
  at::Tensor hidden;  // [B, L, H]: final_norm(output of the last layer)
};

class TargetModel {
 public:
  // `dir`: config.json plus model.safetensors or a sharded index. Weights may
  // be F32, F16 or BF16 on disk; they are copied to `device` in `dtype`
  // (kFloat, kBFloat16 or kHalf; fp32 on CPU, bf16 on CUDA in practice).
  // Every tensor's presence, shape and dtype is checked against the config;
  // errors name the directory, the tensor and the expected and found shape.
  // A tensor the config does not call for is an error too (it means a model
  // variant Talon would run wrongly), except RoPE inv_freq buffers and an
  // lm_head.weight beside tied embeddings, which transformers ignores.
  // With a tensor-parallel group `tp` (--tp-size) each member keeps only its
  // slices (target_weights.h), read from the mapped files; sizes the group
  // cannot split are errors naming --tp-size. num_hidden_layers is checked
  // against the layers the files hold before anything per layer is built.
  // A NaN or infinity among the elements `check` covers (weight_check.h) is
  // an error naming the tensor.
  static TargetModel load(const std::string& dir, at::Device device, at::ScalarType dtype, parallel::Group tp = {},
                          WeightCheck check = WeightCheck::Sampled);

  // A model over weights already on `device` in `dtype`, under their Hugging
  // Face names with this TP member's shapes, as load() reads them
  // (target_weights.h lists them): a missing tensor, or without TP a
  // misshapen one, is an error naming `source`. bench/online_step makes an
  // 8B target on a GPU this way.
  static TargetModel from_weights(io::TargetConfig config, std::unordered_map<std::string, at::Tensor> weights,
                                  at::Device device, at::ScalarType dtype, parallel::Group tp,
                                  const std::string& source);

  // input_ids [B, L] int64 (any device), right-padded: plain causal
  // attention makes every real position exact, since padding comes after it.
  // aux_layers: distinct 0-based layer indices (any order; the result is in
  // ascending order). Runs without autograd, one layer at a time,
  // keeping only the running residual stream and the returned tensors. The
  // features are whole (not sharded) on every member of the TP group.
  TargetFeatures forward(const at::Tensor& input_ids, const std::vector<int>& aux_layers) const;

  // forward() that also keeps every layer's keys and values in `cache`
  // (empty): the first step of decoding, with the same fused causal
  // attention (no [L, L] mask or scores).
  TargetFeatures prefill(const at::Tensor& input_ids, KvCache& cache, const std::vector<int>& aux_layers) const;

  // One decoding step: the new tokens input_ids [B, n] at RoPE positions
  // `positions` (int64 [B, n]) attend to the T cached tokens and to
  // themselves where `mask` (bool [B, n, T + n], true = may attend) allows:
  // among the new ones, the lower triangle for a chain, the ancestor
  // relation for a draft tree (BatchCache builds it). Their keys and values
  // are appended to `cache`. The same features as forward() gives those
  // positions on the whole sequence.
  TargetFeatures extend(const at::Tensor& input_ids, const at::Tensor& positions, const at::Tensor& mask,
                        KvCache& cache, const std::vector<int>& aux_layers) const;

  const io::TargetConfig& config() const { return config_; }
  const at::Tensor& embed_tokens() const { return embed_tokens_; }  // [V / tp, H]: this member's rows
  const at::Tensor& lm_head() const { return lm_head_; }            // [V / tp, H]; the embedding when tied
  const parallel::Group& tp() const { return tp_; }
  at::Device device() const { return device_; }
  at::ScalarType dtype() const { return dtype_; }

 private:
  // One decoder layer; names as in model.layers.{i}.*, this TP member's
  // slices. Biases are undefined tensors without attention_bias,
  // q_norm/k_norm without qk_norm.
  struct Layer {
    at::Tensor input_layernorm, post_attention_layernorm;  // [H]
    at::Tensor q_proj, k_proj, v_proj, o_proj;             // [h*d, H], [kv*d, H] x2, [H, h*d]
    at::Tensor q_bias, k_bias, v_bias, o_bias;             // [h*d], [kv*d] x2, [H]
    at::Tensor q_norm, k_norm;                             // [d]
    at::Tensor gate_proj, up_proj, down_proj;              // [I, H] x2, [H, I]
  };

  // The decoding context of decoder_layer: the cache and the new tokens' mask.
  struct Decoding {
    KvCache& cache;
    at::Tensor mask;  // bool [B, 1, n, T + n], on the model's device; undefined: causal (a prefill)
  };

  // forward() and extend(): checks and the layer loop.
  TargetFeatures run(const at::Tensor& input_ids, const at::Tensor& positions, const std::vector<int>& aux_layers,
                     const Decoding* decoding) const;
  // x [B, L, H] -> the residual stream after layer `index`, [B, L, H]:
  // causal attention over x, or with `decoding`, over the cache and x.
  at::Tensor decoder_layer(std::size_t index, const at::Tensor& x, const RopeTable& rope,
                           const Decoding* decoding) const;

  TargetModel(io::TargetConfig config, at::Device device, at::ScalarType dtype, parallel::Group tp)
      : config_(std::move(config)), device_(device), dtype_(dtype), tp_(std::move(tp)) {}

  io::TargetConfig config_;
  at::Device device_;
  at::ScalarType dtype_;
  parallel::Group tp_;
  at::Tensor embed_tokens_, lm_head_, norm_;
  std::vector<Layer> layers_;
  at::Tensor inv_freq_;  // fp32 [d/2] on device_, rope_scaling applied
};

// Rows `ids` (int64 [N]) of the target's input embedding or of its lm_head
// (the embedding when tied), [N, H], read from the mapped safetensors of
// `dir` without loading the rest: the draft's shard of the embedding and
// the lm_head rows of the draft vocabulary. The rows are checked as load()
// checks its tensors.
enum class TargetMatrix { Embedding, LmHead };
at::Tensor read_target_rows(const std::string& dir, TargetMatrix which, const at::Tensor& ids, at::Device device,
                            at::ScalarType dtype, WeightCheck check = WeightCheck::Sampled);

}  // namespace talon::model
