#include "talon/parallel/launcher.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
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

extern char** environ;

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

// The environment and arguments of one rank, built before fork: the child
// of a process may only make async-signal-safe calls before exec.
struct RankProcess {
  std::vector<std::string> env, args;
  std::vector<char*> envp, argv;
};

RankProcess rank_process(const std::string& executable, const LaunchOptions& o, int local_rank, int port) {
  RankProcess p;
  const int world = o.nnodes * o.nproc_per_node;
  p.env = {"RANK=" + std::to_string(o.node_rank * o.nproc_per_node + local_rank),
           "LOCAL_RANK=" + std::to_string(local_rank),
           "WORLD_SIZE=" + std::to_string(world),
           "LOCAL_WORLD_SIZE=" + std::to_string(o.nproc_per_node),
           "GROUP_RANK=" + std::to_string(o.node_rank),
           "MASTER_ADDR=" + o.master_addr,
           "MASTER_PORT=" + std::to_string(port)};
  // The machine's cores shared out, unless the user chose (torchrun sets 1).
  if (std::getenv("OMP_NUM_THREADS") == nullptr) {
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    p.env.push_back("OMP_NUM_THREADS=" + std::to_string(std::max(1u, cores / o.nproc_per_node)));
  }
  for (char** e = environ; *e != nullptr; ++e) p.env.emplace_back(*e);  // getenv takes the first of a name
  p.args = {executable};
  p.args.insert(p.args.end(), o.command.begin(), o.command.end());
  for (std::string& e : p.env) p.envp.push_back(e.data());
  p.envp.push_back(nullptr);
  for (std::string& a : p.args) p.argv.push_back(a.data());
  p.argv.push_back(nullptr);
  return p;
}

[[noreturn]] void exec_rank(const RankProcess& p, pid_t launcher) {
  const sigset_t set = handled_signals();
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
  // If the launcher is killed outright (SIGKILL: no chance to stop us), so are the ranks.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != launcher) std::_Exit(1);
  ::execve(p.argv[0], p.argv.data(), p.envp.data());
  static const char kMessage[] = "talon launch: cannot run the rank's command\n";
  ssize_t ignored = ::write(2, kMessage, sizeof kMessage - 1);
  (void)ignored;
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
  if (o.nnodes > 1 && (o.master_port == 0 || o.master_addr.empty())) {
    fail("talon launch: --master-addr and --master-port are needed with --nnodes > 1 (node 0's host and a port)");
  }
  LaunchOptions options = o;
  if (options.master_addr.empty()) options.master_addr = "127.0.0.1";
  const int port = o.master_port != 0 ? o.master_port : free_port();

  // Signals are taken synchronously (sigtimedwait), so there are no handlers to race with.
  const sigset_t set = handled_signals();
  sigset_t previous;
  ::sigprocmask(SIG_BLOCK, &set, &previous);
  const int first_rank = o.node_rank * o.nproc_per_node;
  std::vector<pid_t> pids(o.nproc_per_node, -1);
  const pid_t launcher = ::getpid();
  for (int i = 0; i < o.nproc_per_node; ++i) {
    const RankProcess process = rank_process(executable, options, i, port);
    const pid_t pid = ::fork();
    if (pid < 0) fail("talon launch: fork failed: {}", std::strerror(errno));
    if (pid == 0) exec_rank(process, launcher);
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
