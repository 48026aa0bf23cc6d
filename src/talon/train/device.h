// The device and compute dtype of a run, shared by `talon train` and
// `talon cache`.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace talon::train {

// --device: "cpu", or "cuda" for the GPU of this rank's LOCAL_RANK
// (parallel::local_device). Throws naming the flag.
at::Device parse_device(const std::string& name, int local_rank);

// fp32 on CPU; bf16 parameters and compute on GPU (fp32 masters in the optimizer).
inline at::ScalarType compute_dtype(at::Device device) { return device.is_cuda() ? at::kBFloat16 : at::kFloat; }

}  // namespace talon::train
