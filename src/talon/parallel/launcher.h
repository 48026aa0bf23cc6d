// `talon launch`: starts the ranks of this machine as child processes with
// the environment torchrun gives its workers (RANK, LOCAL_RANK, WORLD_SIZE,
// LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT), forwards SIGINT,
// SIGTERM and SIGHUP to them, and when one rank fails stops the others:
// SIGTERM, then SIGKILL after a grace period.
#pragma once

#include <string>
#include <vector>

namespace talon::parallel {

struct LaunchOptions {
  int nproc_per_node = 1;
  int nnodes = 1;
  int node_rank = 0;
  std::string master_addr;         // node 0's host; empty: this machine (one node only)
  int master_port = 0;             // 0: a free port on this machine (one node only)
  double grace_seconds = 10;       // between SIGTERM and SIGKILL
  std::vector<std::string> command;  // what each rank runs: `executable command...`
};

// Runs `executable` with options.command as arguments once per local rank
// and waits for them. Returns 0 when every rank succeeded, else the exit
// status of the first that failed (128 + signal for a signal); a launch
// stopped by a signal returns 128 + that signal.
int launch(const std::string& executable, const LaunchOptions& options);

}  // namespace talon::parallel
