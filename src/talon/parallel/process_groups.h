// Every process group of a run (brief §4), made in one place. The world is
// cut into target-TP groups (consecutive ranks) and their target-DP
// complements, and independently into draft-TP groups and draft-DP
// complements (layout.h). Ranks meet through a c10d TCPStore at
// MASTER_ADDR:MASTER_PORT, served by rank 0 or by torchrun's agent; each
// group is a Gloo backend on CPU and NCCL on CUDA, with its own key prefix.
// A heartbeat (heartbeat.h) names a rank that dies.
#pragma once

#include <c10/core/Device.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "talon/parallel/group.h"
#include "talon/parallel/launch_env.h"
#include "talon/parallel/layout.h"

namespace talon::parallel {

class Heartbeat;

// The device of a rank on its machine: the CPU, or GPU LOCAL_RANK (modulo
// the GPUs this process sees, for one GPU per rank through
// CUDA_VISIBLE_DEVICES), made the current device.
at::Device local_device(at::DeviceType type, int local_rank);

struct ConnectOptions {
  int target_tp = 1;  // --tp-size
  int draft_tp = 1;   // --draft-tp-size
  at::DeviceType device = at::kCPU;  // collectives on CUDA tensors use NCCL
  std::chrono::milliseconds collective_timeout{std::chrono::minutes(30)};
  std::chrono::milliseconds heartbeat_timeout{std::chrono::seconds(30)};
};

class ProcessGroups {
 public:
  // One process alone: every group is this process, no store, no thread.
  ProcessGroups();
  // Joins the run `env` describes (a world of 1 needs no store). Sizes that
  // do not divide the world are errors naming the flag.
  static std::unique_ptr<ProcessGroups> connect(const LaunchEnv& env, const ConnectOptions& options);
  ~ProcessGroups();

  const Layout& layout() const { return layout_; }
  int rank() const { return layout_.rank; }
  int world_size() const { return layout_.world; }
  int local_rank() const { return local_rank_; }  // selects this rank's GPU
  const Group& world() const { return world_; }
  const Group& target_tp() const { return target_tp_; }
  const Group& target_dp() const { return target_dp_; }
  const Group& draft_tp() const { return draft_tp_; }
  const Group& draft_dp() const { return draft_dp_; }

  // Runs `fn` on rank 0, then on the other ranks, who wait for it without a
  // timeout (the heartbeat covers a rank 0 that dies): preparing a dataset
  // the others then read.
  void rank0_first(const std::function<void()>& fn);
  // The normal end: waits until every rank has finished its work.
  void finish();
  // This rank is failing with `message`: the other ranks print it and stop.
  void announce_failure(const std::string& message);

 private:
  struct Store;  // the rendezvous store, private to process_groups.cpp
  Layout layout_;
  int local_rank_ = 0;
  std::shared_ptr<Store> store_;
  int rank0_first_calls_ = 0;
  Group world_, target_tp_, target_dp_, draft_tp_, draft_dp_;
  std::unique_ptr<Heartbeat> heartbeat_;
};

}  // namespace talon::parallel
