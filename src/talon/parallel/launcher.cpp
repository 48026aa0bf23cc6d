#include "talon/parallel/launcher.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <thread>

#include "talon/util/error.h"

namespace talon::parallel {
namespace {

// A TCP port nobody listens on now (the kernel's pick); rank 0's store binds it next.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail("talon launch: cannot open a socket to find a free port: {}", std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0;
  ::close(fd);
  if (!ok) fail("talon launch: cannot find a free port: {}", std::strerror(errno));
  return ntohs(address.sin_port);
}

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&set, s);
  return set;
}

// The child: the environment of its rank, then the command.
[[noreturn]] void exec_rank(const std::string& executable, const LaunchOptions& o, int local_rank, int port) {
  const sigset_t set = handled_signals();
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
  const int world = o.nnodes * o.nproc_per_node;
  ::setenv("RANK", std::to_string(o.node_rank * o.nproc_per_node + local_rank).c_str(), 1);
  ::setenv("LOCAL_RANK", std::to_string(local_rank).c_str(), 1);
  ::setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
  ::setenv("LOCAL_WORLD_SIZE", std::to_string(o.nproc_per_node).c_str(), 1);
  ::setenv("GROUP_RANK", std::to_string(o.node_rank).c_str(), 1);
  ::setenv("MASTER_ADDR", o.master_addr.c_str(), 1);
  ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
  // The machine's cores shared out, unless the user chose (torchrun sets 1).
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  ::setenv("OMP_NUM_THREADS", std::to_string(std::max(1u, cores / o.nproc_per_node)).c_str(), 0);
  std::vector<char*> argv = {const_cast<char*>(executable.c_str())};
  for (const std::string& arg : o.command) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  ::execv(executable.c_str(), argv.data());
  fmt::print(stderr, "talon launch: cannot run {}: {}\n", executable, std::strerror(errno));
  std::_Exit(127);
}

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

std::string describe(int status) {
  return WIFEXITED(status) ? fmt::format("exited with status {}", WEXITSTATUS(status))
                           : fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
}

}  // namespace

int launch(const std::string& executable, const LaunchOptions& o) {
  if (o.nproc_per_node < 1 || o.nnodes < 1 || o.node_rank < 0 || o.node_rank >= o.nnodes) {
    fail("talon launch: need --nproc-per-node >= 1, --nnodes >= 1 and 0 <= --node-rank < --nnodes (found {}, {}, {})",
         o.nproc_per_node, o.nnodes, o.node_rank);
  }
  if (o.command.empty()) fail("talon launch: no command given (talon launch [options] -- train ...)");
  if (o.master_port == 0 && o.nnodes > 1) fail("talon launch: --master-port is needed with --nnodes > 1");
  const int port = o.master_port != 0 ? o.master_port : free_port();

  // Signals are taken synchronously (sigtimedwait), so there are no handlers to race with.
  const sigset_t set = handled_signals();
  sigset_t previous;
  ::sigprocmask(SIG_BLOCK, &set, &previous);
  const int first_rank = o.node_rank * o.nproc_per_node;
  std::vector<pid_t> pids(o.nproc_per_node, -1);
  for (int i = 0; i < o.nproc_per_node; ++i) {
    const pid_t pid = ::fork();
    if (pid < 0) fail("talon launch: fork failed: {}", std::strerror(errno));
    if (pid == 0) exec_rank(executable, o, i, port);
    pids[i] = pid;
  }

  auto signal_all = [&](int signal) {
    for (pid_t pid : pids) {
      if (pid > 0) ::kill(pid, signal);
    }
  };
  int result = 0;
  std::optional<std::chrono::steady_clock::time_point> kill_at;  // set once the ranks are being stopped
  // Asks every rank to stop with `signal`; those still running at the end of the grace period get SIGKILL.
  auto stop_all = [&](int code, int signal) {
    result = code;
    signal_all(signal);
    kill_at = std::chrono::steady_clock::now() +
              std::chrono::milliseconds(static_cast<std::int64_t>(o.grace_seconds * 1000));
  };
  while (std::any_of(pids.begin(), pids.end(), [](pid_t pid) { return pid > 0; })) {
    int status = 0;
    for (pid_t done; (done = ::waitpid(-1, &status, WNOHANG)) > 0;) {
      const auto it = std::find(pids.begin(), pids.end(), done);
      if (it == pids.end()) continue;
      *it = -1;
      const int rank = first_rank + static_cast<int>(it - pids.begin());
      if (exit_code(status) != 0 && !kill_at) {
        fmt::print(stderr, "talon launch: rank {} {}; stopping the other ranks\n", rank, describe(status));
        stop_all(exit_code(status), SIGTERM);
      }
    }
    if (kill_at && std::chrono::steady_clock::now() >= *kill_at) signal_all(SIGKILL);
    timespec wait_for{0, 200 * 1000 * 1000};
    const int signal = ::sigtimedwait(&set, nullptr, &wait_for);
    if (signal == SIGINT || signal == SIGTERM || signal == SIGHUP) {
      if (kill_at) {
        signal_all(SIGKILL);  // asked again: no more grace
      } else {
        stop_all(128 + signal, signal);
      }
    }
  }
  ::sigprocmask(SIG_SETMASK, &previous, nullptr);
  return result;
}

}  // namespace talon::parallel
