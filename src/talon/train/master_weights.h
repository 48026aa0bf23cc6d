// fp32 master copies of the trained parameters. On GPU the model holds bf16
// parameters and computes in bf16 while AdamW updates fp32 masters; on CPU
// the parameters are fp32 already and each master IS its parameter (no copy,
// and gather_grads/copy_to_params do nothing for it).
//
//   backward()            -> param.grad()    (param dtype)
//   gather_grads()        -> master.grad()   (fp32)
//   clip, AdamW.step()    on the masters
//   copy_to_params()      -> param = master  (cast to param dtype)
//   zero_grads()
#pragma once

#include <ATen/core/Tensor.h>

#include "talon/train/adamw.h"  // NamedTensors

namespace talon::train {

class MasterWeights {
 public:
  // params: floating-point tensors (the model's own, updated in place).
  explicit MasterWeights(NamedTensors params);

  const NamedTensors& params() const { return params_; }
  const NamedTensors& masters() const { return masters_; }  // fp32, same names and order

  // master.grad() = param.grad() as fp32; undefined where the param's is.
  void gather_grads();
  // param = master, rounded to the param's dtype.
  void copy_to_params();
  // Leaves every param's and master's grad undefined (PyTorch's
  // zero_grad(set_to_none=True)); the next backward allocates fresh ones.
  void zero_grads();

 private:
  NamedTensors params_, masters_;
};

}  // namespace talon::train
