// The draft's decoder layer (brief §2, TTT steps 1-5) with its attention
// left to the caller: training attends across TTT steps (ttt.cpp),
// inference over a KV cache (draft_decoder.h). One definition of the layer
// serves both, so what inference runs is what training trained.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>

#include "talon/model/eagle3/eagle3_draft.h"
#include "talon/model/layers.h"

namespace talon::model {

// q [B, h, L, d] and k [B, kv, L, d] with RoPE applied, v [B, kv, L, d]
// -> the attention output [B, h, L, d].
using DraftAttention = std::function<at::Tensor(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v)>;

// h_in [B, L, H] (fc(aux), or an earlier step's h) and input_ids [B, L]:
// x = [input_layernorm(embed(ids)); hidden_norm(h_in)], the residual h_in,
// RoPE from `rope` -> h [B, L, H]. Under draft TP, this member's heads.
at::Tensor draft_layer(const Eagle3Draft& draft, const at::Tensor& h_in, const at::Tensor& input_ids,
                       const RopeTable& rope, const DraftAttention& attend);

}  // namespace talon::model
