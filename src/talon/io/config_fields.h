// The fields every Hugging Face decoder config.json shares, read the same
// way for targets, EAGLE-3 drafts and the block drafters (model/block/).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "talon/io/dtype.h"
#include "talon/io/rope_scaling.h"
#include "talon/util/json_fields.h"

namespace talon::io {

// Upper bounds on sizes, each far above any published model (the largest
// have hidden_size 16384, intermediate_size 73728, 262144-token
// vocabularies, 126 layers, 128 heads of 256): a typo such as 2^40 fails
// here naming its field, not as a failed allocation or an hours-long loop.
constexpr std::int64_t kMaxHiddenSize = 1 << 20;        // hidden_size, target_hidden_size
constexpr std::int64_t kMaxIntermediateSize = 1 << 18;  // intermediate_size
constexpr std::int64_t kMaxVocabSize = 1 << 22;         // vocab_size, draft_vocab_size
constexpr std::int64_t kMaxLayers = 1 << 10;            // num_hidden_layers
constexpr std::int64_t kMaxHeads = 1 << 10;             // num_attention_heads, num_key_value_heads, head_dim

// `path` itself, or path/config.json when `path` is a directory.
std::string config_file(const std::string& path);

// Attention heads: kv heads default to the heads, head_dim to hidden/heads.
struct Attention {
  std::int64_t heads, kv_heads, head_dim;
};
Attention parse_attention(const util::JsonFields& fields, std::int64_t hidden_size);

// transformers 5 writes "rope_parameters" (theta and scaling in one object);
// earlier versions "rope_theta" and "rope_scaling". Both may be present, as
// SpecForge's export mirrors one into the other; they must then agree.
// rope_theta defaults to 10000, as transformers' config classes.
struct Rope {
  double theta;
  std::optional<RopeScaling> scaling;
};
Rope parse_rope(const util::JsonFields& fields);

// "torch_dtype", or "dtype" since transformers 5.
std::optional<DType> parse_torch_dtype(const util::JsonFields& fields);

// hidden_act, when present, must be "silu".
void check_silu(const util::JsonFields& fields);

}  // namespace talon::io
