// Peak device memory for the bench programs: what the CUDA caching allocator
// handed out on a device since the last reset (tensors, not its cache), in
// GiB; 0 on the CPU, whose peak is the process's RSS, and with a libtorch
// built without CUDA.
#pragma once

#include <c10/core/Device.h>
#if __has_include(<c10/cuda/CUDACachingAllocator.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#define TALON_BENCH_CUDA_ALLOCATOR 1
#endif

namespace talon::bench {

inline void reset_peak_device_memory(c10::Device device) {
#ifdef TALON_BENCH_CUDA_ALLOCATOR
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
#endif
}

inline double peak_device_memory_gib(c10::Device device) {
#ifdef TALON_BENCH_CUDA_ALLOCATOR
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
    return static_cast<double>(stats.allocated_bytes[0].peak) / (1 << 30);  // [0]: every pool together
  }
#endif
  return 0;
}

}  // namespace talon::bench
