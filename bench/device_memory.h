// Peak device memory for the bench programs: what the CUDA caching allocator
// handed out on a device since the last reset (tensors, not its cache), in
// GiB; 0 on the CPU, whose peak is the process's RSS.
#pragma once

#include <c10/core/Device.h>
#include <c10/cuda/CUDACachingAllocator.h>

namespace talon::bench {

inline void reset_peak_device_memory(c10::Device device) {
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
}

inline double peak_device_memory_gib(c10::Device device) {
  if (!device.is_cuda()) return 0;
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
  return static_cast<double>(stats.allocated_bytes[0].peak) / (1 << 30);  // [0]: every pool together
}

}  // namespace talon::bench
