#include "rank_runner.h"

#include <fmt/format.h>

#include "flag_range.h"
#include "talon/parallel/launch_env.h"
#include "talon/util/error.h"

namespace talon::cli {

void add_collective_flags(CLI::App& cmd, parallel::ConnectOptions& options) {
  auto to_ms = [](double s) { return std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000)); };
  cmd.add_option_function<double>(
         "--collective-timeout", [&options, to_ms](double s) { options.collective_timeout = to_ms(s); },
         fmt::format("Seconds any one collective may take (default {})", options.collective_timeout.count() / 1000))
      ->check(flag_range("(0, inf)"));
  cmd.add_option_function<double>(
         "--heartbeat-timeout", [&options, to_ms](double s) { options.heartbeat_timeout = to_ms(s); },
         fmt::format("Seconds without a heartbeat before a rank counts as dead and every rank stops (default {})",
                     options.heartbeat_timeout.count() / 1000))
      ->check(flag_range("(0, inf)"));
}

void run_as_rank(const parallel::ConnectOptions& options, const std::function<void(parallel::ProcessGroups&)>& work) {
  std::unique_ptr<parallel::ProcessGroups> groups =
      parallel::ProcessGroups::connect(parallel::LaunchEnv::from_environment(), options);
  try {
    work(*groups);
    groups->finish();
  } catch (const std::exception& e) {
    if (groups->world_size() == 1) throw;
    // The other ranks stop at once with this message instead of waiting for a timeout.
    groups->announce_failure(e.what());
    fail("rank {} of {}: {}", groups->rank(), groups->world_size(), e.what());
  }
}

}  // namespace talon::cli
