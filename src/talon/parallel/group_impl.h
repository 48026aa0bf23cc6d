// The c10d side of a Group, private to the parallel library: a c10d backend
// (ProcessGroupGloo, ProcessGroupNCCL) and what a failed collective reports.
#pragma once

#include <torch/csrc/distributed/c10d/Backend.hpp>

#include <chrono>
#include <functional>

#include "talon/parallel/group.h"

namespace talon::parallel {

struct Group::Impl {
  std::string name;
  int rank = 0, size = 1;
  c10::intrusive_ptr<c10d::Backend> backend;
  bool nccl = false;
  std::int64_t device_index = -1;  // NCCL: this rank's GPU
  std::chrono::milliseconds timeout{0};
  // Why a collective may have failed: names the ranks that stopped.
  std::function<std::string()> diagnose;
};

}  // namespace talon::parallel
