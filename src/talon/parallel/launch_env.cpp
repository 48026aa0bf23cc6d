#include "talon/parallel/launch_env.h"

#include <cstdlib>
#include <optional>

#include "talon/util/error.h"

namespace talon::parallel {
namespace {

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

int parse_int(const char* name, const std::string& text, long low, long high) {
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || value < low || value > high) {
    fail("environment variable {}={}: expected an integer in [{}, {}]", name, text, low, high);
  }
  return static_cast<int>(value);
}

// The first of `names` that is set, parsed.
std::optional<int> first_int(std::initializer_list<const char*> names, long low, long high) {
  for (const char* name : names) {
    if (std::optional<std::string> v = env(name)) return parse_int(name, *v, low, high);
  }
  return std::nullopt;
}

}  // namespace

LaunchEnv LaunchEnv::from_environment() {
  constexpr long kMaxWorld = 1 << 20;
  LaunchEnv e;
  e.world_size = first_int({"WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS"}, 1, kMaxWorld).value_or(1);
  e.rank = first_int({"RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID"}, 0, kMaxWorld).value_or(0);
  e.local_rank = first_int({"LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"}, 0, kMaxWorld).value_or(0);
  if (e.rank >= e.world_size) fail("rank {} is not below the world size {} (RANK, WORLD_SIZE)", e.rank, e.world_size);
  e.agent_store = env("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
  e.attempt = first_int({"TORCHELASTIC_RESTART_COUNT"}, 0, kMaxWorld).value_or(0);
  if (e.world_size == 1) return e;
  std::optional<std::string> addr = env("MASTER_ADDR"), port = env("MASTER_PORT");
  if (!addr || !port) {
    fail("a world of {} ranks needs MASTER_ADDR and MASTER_PORT (the host and port of rank 0's rendezvous store); "
         "`talon launch` and torchrun set them",
         e.world_size);
  }
  e.master_addr = *addr;
  e.master_port = static_cast<std::uint16_t>(parse_int("MASTER_PORT", *port, 1, 65535));
  return e;
}

}  // namespace talon::parallel
