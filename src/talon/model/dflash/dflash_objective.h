// DFlash's training objective (design dflash-dspark.md §2.2, z-lab slot
// convention): slot k of a block anchored at a predicts the data token
// input_ids[a + k]; slot 0 holds the anchor and is never scored. Hard-label
// cross-entropy over the whole vocabulary through the target's lm_head,
// decayed along the block, or one of the D-PACE weightings.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>

#include "talon/model/block/anchors.h"

namespace talon::model {

struct DFlashTargets {
  at::Tensor labels;   // [B, N, bs] int64: input_ids[a + k], the index clamped to S - 1
  at::Tensor mask;     // [B, N, bs] fp64: m = keep * [a + k < S] * [k > 0] * loss_mask[a + k]
  at::Tensor weights;  // [B, N, bs] fp64: m * exp(-max(k - 1, 0) / gamma), or m without decay
};

// decay_gamma: nullopt (or <= 0) means no decay (SpecForge's schema default);
// its recipes use 7 at block size 16.
DFlashTargets dflash_targets(const at::Tensor& input_ids, const at::Tensor& loss_mask, const BlockAnchors& blocks,
                             std::int64_t block_size, std::optional<double> decay_gamma);

// SpecForge's loss_type names.
enum class DFlashLossType { DFlash, DPace, DPaceCumulativeConfidenceOnly, DPaceContinuationValueOnly };
DFlashLossType parse_dflash_loss_type(const std::string& name);  // an unknown name is an error listing the known
const char* dflash_loss_type_name(DFlashLossType type);

struct DFlashObjectiveOptions {
  DFlashLossType loss_type = DFlashLossType::DFlash;
  double dpace_alpha = 0.5;
  std::int64_t chunk_blocks = 128;  // blocks per chunk of the objective (block_chunks.h); 0: all at once
};

// Additive over micro-batches and ranks: the trainer divides the summed
// numerator by the summed denominator of the whole optimizer step.
struct DFlashTerms {
  at::Tensor numerator;    // differentiable: sum w * CE, or sum m * dpace_weight * CE
  at::Tensor denominator;  // sum w; the batch size B for D-PACE (a per-sample loss)
  at::Tensor correct;      // [bs]: per slot, sum [argmax == label] * [m > 0.5]
  at::Tensor supervised;   // [bs]: per slot, sum m
  at::Tensor accepted;     // sum over valid blocks of 1 + the leading correct slots (simulated acceptance)
  at::Tensor blocks;       // the number of valid blocks (any m > 0)
};

// hidden [B, N * bs, H]: the backbone's output; lm_head [V, H]: the target's.
DFlashTerms dflash_objective(const at::Tensor& hidden, const at::Tensor& lm_head, const DFlashTargets& targets,
                             const DFlashObjectiveOptions& options);

// D-PACE's detached weights of one block row (design §2.2): q the draft
// probability of each label [.., bs], valid the supervised slots; s_k =
// (1 - alpha) q_k + alpha on valid slots and 1 elsewhere, P_k = prod_{j<=k}
// s_j, and the weight sum_{j>=k} P_j m_j (dpace), P_k (cumulative
// confidence), or that sum over P_k (continuation value).
at::Tensor dpace_weights(const at::Tensor& q, const at::Tensor& mask, DFlashLossType type, double alpha);

}  // namespace talon::model
