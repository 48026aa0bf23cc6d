// The draft's optimizer over every layout (brief §2 "Optimizer", §4): fp32
// master weights and AdamW moments for this rank's ZeRO-2 chunk of its
// tensor-parallel slice of each parameter.
//
//   backward()        -> param.grad()        (param dtype, this TP slice)
//   reduce_and_clip() -> kv-head replicas summed over draft TP, then
//                        reduce-scattered over draft DP into fp32 master
//                        chunks; the global norm (all-reduced over the world,
//                        each block counted once) and clipping
//   step(lr)          -> AdamW on the chunks, then each param all-gathered
//                        over draft DP from them (cast to its dtype)
//
// With one process every partition is the whole tensor, and this is plain
// mixed-precision AdamW. The checkpointed state is layout-independent:
// whole tensors, so a run resumes on another world size.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "talon/parallel/process_groups.h"
#include "talon/parallel/tp_shard.h"
#include "talon/parallel/zero2.h"
#include "talon/train/adamw.h"

namespace talon::train {

class DraftOptimizer {
 public:
  // params: the draft's parameters (this rank's TP slices, updated in
  // place), shards their layout in the same order.
  DraftOptimizer(NamedTensors params, std::vector<parallel::TpShard> shards, const parallel::ProcessGroups& groups);

  // Reduces the gradients of the micro-batches' backward passes into the
  // master chunks, scaled by grad_scale (a loss normalised over the whole
  // step: model::LossScope::Step), and clips them to the global L2 norm
  // max_norm (brief §2; 0: no clipping).
  // Returns the norm before clipping; a non-finite norm leaves the
  // gradients unclipped for the caller to skip the step.
  double reduce_and_clip(double max_norm, double grad_scale = 1.0);
  // AdamW at learning rate lr on the chunks, then the parameters from them.
  void step(double lr);
  // Drops every parameter's and master's gradient.
  void zero_grads();

  // Whole tensors on the CPU, independent of the layout: the fp32 masters
  // under the parameter names, and AdamW's state ("step",
  // "exp_avg.<name>", "exp_avg_sq.<name>"). Collective, gathered one tensor
  // at a time; only ranks with `keep` get them, the others empty lists.
  struct State {
    NamedTensors masters, adamw;
  };
  State full_state(bool keep) const;
  // Takes a full_state() of any layout: every tensor present with its whole
  // shape, or an error naming `source` and the tensor.
  void load_full_state(const State& state, const std::string& source);

 private:
  NamedTensors params_, masters_;  // masters: fp32 [chunk] each
  std::vector<parallel::TpShard> shards_;
  std::vector<parallel::Zero2Partition> partitions_;
  const parallel::ProcessGroups& groups_;
  AdamW adamw_;

  // The whole tensor from this rank's chunk of parameter i's TP slice.
  at::Tensor gather_whole(std::size_t i, const at::Tensor& chunk) const;
  // This rank's chunk of parameter i's slice of a whole tensor, checked.
  at::Tensor own_chunk(std::size_t i, const at::Tensor& whole, const std::string& name,
                       const std::string& source) const;
  // The parameter an AdamW state entry ("exp_avg.<name>") belongs to.
  std::size_t param_of(const std::string& state_name) const;
};

}  // namespace talon::train
