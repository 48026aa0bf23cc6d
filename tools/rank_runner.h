// What every multi-process command does around its work: join the run the
// launch environment describes (torchrun's variables, or none for one
// process), and on failure tell the other ranks at once instead of leaving
// them to time out.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

#include "talon/parallel/process_groups.h"

namespace talon::cli {

// The flags a parallel command shares: --collective-timeout and
// --heartbeat-timeout, written into `options`.
void add_collective_flags(CLI::App& cmd, parallel::ConnectOptions& options);

// Runs `work` as this process's rank, then waits for every rank to finish.
void run_as_rank(const parallel::ConnectOptions& options, const std::function<void(parallel::ProcessGroups&)>& work);

}  // namespace talon::cli
