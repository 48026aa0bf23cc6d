#include "talon/parallel/process_groups.h"

#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef TALON_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <c10/core/impl/DeviceGuardImplInterface.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "talon/parallel/group_impl.h"
#include "talon/parallel/heartbeat.h"
#include "talon/util/error.h"

namespace talon::parallel {

struct ProcessGroups::Store {
  c10::intrusive_ptr<c10d::Store> store;
};

namespace {

bool is_loopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0; }

// The network interface Gloo binds: GLOO_SOCKET_IFNAME as PyTorch reads it,
// loopback when the whole run is on this machine, else the host's address.
std::shared_ptr<gloo::transport::Device> gloo_device(const std::string& master_addr) {
  if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"); interface && *interface) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
  }
  if (is_loopback(master_addr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

struct Backends {
  c10::intrusive_ptr<c10d::Store> store;
  std::shared_ptr<gloo::transport::Device> gloo;  // CPU runs
  bool nccl = false;                              // CUDA runs
  std::int64_t device_index = -1;                 // this rank's GPU
  std::chrono::milliseconds timeout;
  std::function<std::string()> diagnose;
};

// Every rank has reached this point (within `timeout`). Gloo meets when a
// group is made, NCCL only at its first collective: this makes both wait.
void join_everyone(c10d::Store& store, int world, std::chrono::milliseconds timeout) {
  store.add("joined", 1);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (store.add("joined", 0) < world) {
    if (std::chrono::steady_clock::now() > deadline) {
      fail("only {} of {} ranks joined within {} s", store.add("joined", 0), world, timeout.count() / 1000);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

c10::intrusive_ptr<c10d::Backend> make_backend(const Backends& b, const c10::intrusive_ptr<c10d::Store>& store,
                                             int rank, int size) {
  if (b.nccl) {
#ifdef TALON_NCCL
    // Without blocking wait a timed-out NCCL collective aborts the process
    // unannounced; the variable is read when the group is made. The user's
    // setting wins.
    ::setenv("TORCH_NCCL_BLOCKING_WAIT", "1", 0);
    ::setenv("NCCL_BLOCKING_WAIT", "1", 0);
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = b.timeout;
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
#else
    fail("this build of Talon has no NCCL (its libtorch was built without CUDA); multi-process runs on CUDA need it");
#endif
  }
  auto options = c10d::ProcessGroupGloo::Options::create(b.timeout);
  options->devices.push_back(b.gloo);
  options->threads = 2;
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);
}

// The group of `ranks` (world ranks, ascending, this rank among them),
// instance `index` of `name`. A group of one needs no backend.
Group make_group(const Backends& b, const std::string& name, int index, const std::vector<int>& ranks, int rank) {
  if (ranks.size() == 1) return Group();
  auto impl = std::make_shared<Group::Impl>();
  impl->name = name;
  impl->rank = static_cast<int>(std::find(ranks.begin(), ranks.end(), rank) - ranks.begin());
  impl->size = static_cast<int>(ranks.size());
  impl->nccl = b.nccl;
  impl->device_index = b.device_index;
  impl->timeout = b.timeout;
  impl->diagnose = b.diagnose;
  auto store = c10::make_intrusive<c10d::PrefixStore>(fmt::format("{}/{}", name, index), b.store);
  try {
    impl->backend = make_backend(b, store, impl->rank, impl->size);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail("cannot form the {} group of world ranks {}..{}: {}", name, ranks.front(), ranks.back(), e.what());
  }
  return Group(std::move(impl));
}

}  // namespace

at::Device local_device(at::DeviceType type, int local_rank) {
  if (type != at::kCUDA) return at::kCPU;
  const c10::impl::DeviceGuardImplInterface* cuda = c10::impl::getDeviceGuardImpl(at::kCUDA);
  const at::Device device(at::kCUDA, static_cast<c10::DeviceIndex>(local_rank % std::max(1, static_cast<int>(cuda->deviceCount()))));
  cuda->setDevice(device);
  return device;
}

ProcessGroups::ProcessGroups() = default;
ProcessGroups::~ProcessGroups() = default;

std::unique_ptr<ProcessGroups> ProcessGroups::connect(const LaunchEnv& env, const ConnectOptions& options) {
  auto groups = std::make_unique<ProcessGroups>();
  Layout& layout = groups->layout_;
  layout = {env.world_size, env.rank, options.target_tp, options.draft_tp};
  layout.validate();
  groups->local_rank_ = env.local_rank;
  if (env.world_size == 1) return groups;

  const bool serves_store = env.rank == 0 && !env.agent_store;
  const std::string prefix = fmt::format("talon/{}/", env.attempt);
  Backends b;
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = env.master_port;
    store_options.isServer = serves_store;
    store_options.numWorkers = env.world_size;
    store_options.waitWorkers = false;
    store_options.timeout = options.collective_timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_options);
    b.store = c10::make_intrusive<c10d::PrefixStore>(prefix, tcp);
  } catch (const std::exception& e) {
    fail("rank {}: cannot reach the rendezvous store at {}:{} (MASTER_ADDR, MASTER_PORT): {}", env.rank,
         env.master_addr, env.master_port, e.what());
  }
  b.nccl = options.device == at::kCUDA;
  if (b.nccl) {
    b.device_index = local_device(at::kCUDA, env.local_rank).index();
  } else {
    b.gloo = gloo_device(env.master_addr);
  }
  b.timeout = options.collective_timeout;
  groups->store_ = std::make_shared<Store>(Store{b.store});

  // Beats start once every rank is here, so a rank that starts late is not
  // taken for a dead one.
  join_everyone(*b.store, env.world_size, options.collective_timeout);
  ProcessGroups* self = groups.get();
  b.diagnose = [self] { return self->heartbeat_ ? self->heartbeat_->diagnose() : std::string(); };
  const int rank = env.rank;

  HeartbeatOptions beat;
  beat.host = env.master_addr;
  beat.port = env.master_port;
  beat.key_prefix = prefix + "heartbeat/";
  beat.rank = env.rank;
  beat.world = env.world_size;
  beat.rank0_serves_store = !env.agent_store;
  beat.timeout = options.heartbeat_timeout;
  groups->heartbeat_ = std::make_unique<Heartbeat>(beat);

  // Every rank makes the groups in this order; each joins its own instance.
  std::vector<int> everyone(env.world_size);
  for (int r = 0; r < env.world_size; ++r) everyone[r] = r;
  groups->world_ = make_group(b, "world", 0, everyone, rank);
  groups->target_tp_ = make_group(b, "target-tp", layout.target_dp_rank(), layout.target_tp_group(), rank);
  groups->target_dp_ = make_group(b, "target-dp", layout.target_tp_rank(), layout.target_dp_group(), rank);
  groups->draft_tp_ = make_group(b, "draft-tp", layout.draft_dp_rank(), layout.draft_tp_group(), rank);
  groups->draft_dp_ = make_group(b, "draft-dp", layout.draft_tp_rank(), layout.draft_dp_group(), rank);
  return groups;
}

void ProcessGroups::rank0_first(const std::function<void()>& fn) {
  if (!store_) return fn();
  const std::string key = fmt::format("rank0_first/{}", rank0_first_calls_++);
  if (rank() == 0) {
    fn();
    store_->store->set(key, std::vector<std::uint8_t>{1});
  } else {
    store_->store->wait({key}, std::chrono::hours(24 * 365));
    fn();
  }
}

void ProcessGroups::finish() {
  world_.barrier();  // watched: rank 0 may still be writing the last checkpoint
  if (heartbeat_) heartbeat_->finish();
}

void ProcessGroups::announce_failure(const std::string& message) {
  if (heartbeat_) heartbeat_->announce_failure(message);
}

}  // namespace talon::parallel
