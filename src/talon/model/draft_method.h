// A draft method as the trainer, the hidden-state cache, the evaluator and
// `talon check-draft` see it: EAGLE-3 (eagle3/eagle3_method.h), DFlash
// (dflash/dflash_method.h) and DSpark (dspark/dspark_method.h). What they
// share is here; what each computes stays in its folder. The one place that
// picks a method by name is train/draft_methods.h.
#pragma once

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "talon/io/safetensors.h"
#include "talon/model/target_distribution.h"
#include "talon/parallel/tp_shard.h"

namespace talon::model {

using io::NamedTensors;

// SpecForge's strategy names: eagle3, dflash, dspark.
enum class Strategy { Eagle3, DFlash, DSpark };
Strategy parse_strategy(const std::string& name);  // an unknown name is an error listing the known ones
const char* strategy_name(Strategy strategy);

// One micro-batch of what the target gives a draft, on the draft's device,
// right-padded.
struct DraftBatch {
  at::Tensor input_ids;     // [B, L] int64
  at::Tensor loss_mask;     // [B, L] fp32
  at::Tensor lengths;       // [B] int64
  at::Tensor features;      // [B, L, m H]: the outputs of the method's target layers, ascending
  at::Tensor final_hidden;  // [B, L, H]: the target's post-norm last hidden state
  // The target's next-token distribution over the draft vocabulary, when the
  // method reads it (EAGLE-3's soft labels; TargetReads::distribution).
  std::optional<TargetDistribution> distribution;
  // Seeds the micro-batch's own random draws (the block drafters' anchors):
  // data::batch_seed, so that every layout and a resumed run draw alike.
  std::uint64_t seed = 0;
};

// How the micro-batches' losses make one optimizer step's objective.
enum class LossScope {
  // sum of numerators / micro-batches per step: each micro-batch's loss is a
  // mean already (EAGLE-3, SpecForge's per-micro-batch convention).
  MicroBatch,
  // sum of numerators / sum of denominators over every micro-batch and rank
  // of the step: a token-weighted mean over the global batch (SpecForge's
  // DFlash, design dflash-dspark.md §2.2).
  Step,
  // mean over the step's micro-steps (one micro-batch per draft-DP rank) of
  // sum over ranks of numerators / (sum over ranks of denominators + eps)
  // (DeepSpec's DSpark, design §3.2).
  Round,
};

struct MicroBatchLoss {
  at::Tensor numerator;    // differentiable scalar
  at::Tensor denominator;  // fp64 scalar, detached (1 for LossScope::MicroBatch)
  at::Tensor metrics;      // fp64 [K]: additive sums over micro-batches and ranks, read by record()
};

class DraftMethod {
 public:
  virtual ~DraftMethod() = default;
  virtual Strategy strategy() const = 0;

  // Training. The trainable tensors (this rank's TP slices) under their
  // checkpoint names, and their layout, in one fixed order.
  virtual NamedTensors parameters() const = 0;
  virtual std::vector<parallel::TpShard> shards() const = 0;
  virtual LossScope loss_scope() const = 0;
  virtual double denominator_epsilon() const { return 0; }  // LossScope::Round's eps
  virtual MicroBatchLoss loss(const DraftBatch& batch) const = 0;
  virtual std::int64_t metric_count() const = 0;  // the length of MicroBatchLoss::metrics
  // The record of a step or an eval pass from its summed metrics and its
  // objective (the scope's value): "loss", "acc" (per step or slot) and the
  // method's own figures.
  virtual nlohmann::json record(const at::Tensor& metrics, double objective) const = 0;

  // Writes config.json and model.safetensors into `dir` (an existing
  // directory), the weights `whole` (whole tensors under the names of
  // parameters()) in BF16, as SGLang and vLLM load the method's drafts.
  virtual void save(const std::string& dir, const NamedTensors& whole) const = 0;
  // The config as save() writes it: what a resumed run must not change.
  virtual nlohmann::json config_json() const = 0;
};

}  // namespace talon::model
