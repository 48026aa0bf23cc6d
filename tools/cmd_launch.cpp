// talon launch: starts the ranks of a parallel run on this machine
// (docs/parallel.md). torchrun --no-python, mpirun and srun start Talon
// the same way from outside; this needs nothing but the binary.
#include <fmt/format.h>

#include "commands.h"
#include "flag_range.h"
#include "talon/parallel/launcher.h"

namespace talon::cli {

void add_launch_command(CLI::App& app) {
  auto o = std::make_shared<parallel::LaunchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "launch", "Start the ranks of a parallel run on this machine: talon launch [options] -- train ...");
  cmd->add_option("--nproc-per-node", o->nproc_per_node, "Ranks on this machine (one per GPU)")
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  cmd->add_option("--nnodes", o->nnodes, "Machines in the run, each running talon launch")
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  cmd->add_option("--node-rank", o->node_rank, "This machine's index, 0 .. nnodes-1")
      ->check(flag_range("[0, inf)"))
      ->capture_default_str();
  cmd->add_option("--master-addr", o->master_addr,
                  "Host of node 0, where rank 0 serves the rendezvous store (default: this machine; one node only)");
  cmd->add_option("--master-port", o->master_port, "Port of the rendezvous store (0: a free one; one node only)")
      ->check(flag_range("[0, 65535]"))
      ->capture_default_str();
  cmd->add_option("--grace-period", o->grace_seconds,
                  "Seconds the other ranks get to stop after one fails, before SIGKILL")
      ->check(flag_range("[0, inf)"))
      ->capture_default_str();
  cmd->add_option("command", o->command, "The talon command each rank runs, after --")->required();
  cmd->callback([o] {
    const int status = parallel::launch("/proc/self/exe", *o);
    if (status != 0) std::exit(status);
  });
}

}  // namespace talon::cli
