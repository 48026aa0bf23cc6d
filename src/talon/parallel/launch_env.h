// Where this process sits in a multi-process run, read from the environment
// the way torchrun sets it (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT). Open MPI's and Slurm's own rank variables are read when
// RANK is absent, so `mpirun` and `srun` start Talon without a wrapper
// script. Without any of them the process is rank 0 of a world of 1.
#pragma once

#include <cstdint>
#include <string>

namespace talon::parallel {

struct LaunchEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;        // selects the GPU on a machine
  std::string master_addr;   // the rendezvous store's host (rank 0 serves it)
  std::uint16_t master_port = 0;
  bool agent_store = false;  // torchrun's agent already serves the store (TORCHELASTIC_USE_AGENT_STORE)
  int attempt = 0;           // torchrun's restart count: keeps a restarted run's store keys apart

  // Reads the variables; an unparsable or inconsistent value is an error
  // naming the variable. MASTER_ADDR and MASTER_PORT are required when
  // world_size > 1.
  static LaunchEnv from_environment();
};

}  // namespace talon::parallel
