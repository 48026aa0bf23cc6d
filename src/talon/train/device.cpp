#include "talon/train/device.h"

#include <ATen/ATen.h>

#include "talon/parallel/process_groups.h"
#include "talon/util/error.h"

namespace talon::train {

at::Device parse_device(const std::string& name, int local_rank) {
  if (name == "cpu") return at::kCPU;
  if (name == "cuda") {
    if (!at::hasCUDA()) fail("--device cuda: this libtorch has no CUDA device available");
    return parallel::local_device(at::kCUDA, local_rank);
  }
  fail("--device {}: expected cpu or cuda", name);
}

}  // namespace talon::train
