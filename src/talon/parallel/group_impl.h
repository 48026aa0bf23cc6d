// The c10d side of a Group, private to the parallel library. In libtorch
// 1.13 a c10d backend (ProcessGroupGloo, ProcessGroupNCCL) is a
// c10d::ProcessGroup; from 2.0 it is a c10d::Backend with the same
// collective calls.
#pragma once

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/version.h>

#include <chrono>
#include <functional>

#include "talon/parallel/group.h"

#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#endif

namespace talon::parallel {

#if TORCH_VERSION_MAJOR >= 2
using C10dBackend = c10d::Backend;
#else
using C10dBackend = c10d::ProcessGroup;
#endif

struct Group::Impl {
  std::string name;
  int rank = 0, size = 1;
  c10::intrusive_ptr<C10dBackend> backend;
  bool nccl = false;
  std::int64_t device_index = -1;  // NCCL: this rank's GPU
  std::chrono::milliseconds timeout{0};
  // Why a collective may have failed: names the ranks that stopped.
  std::function<std::string()> diagnose;
};

}  // namespace talon::parallel
