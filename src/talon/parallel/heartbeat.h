// Failure detection for a multi-process run. A collective whose peer has
// died either fails at once (Gloo sees the socket close) or hangs until its
// timeout (NCCL), and neither says which rank is gone. So every rank runs a
// small thread that beats in the rendezvous store once a period and watches
// the nearest rank before it that has not finished: when that rank's beat
// stops for `timeout`, the watcher names it in the store, and every rank,
// seeing the name, prints it and exits non-zero. A rank that fails with an
// error names itself the same way (announce_failure), so the others stop at
// once with its message instead of waiting for a timeout.
//
// Store traffic is O(1) per rank per period: its own beat, one peer's, and
// the shared verdict key. When rank 0 serves the store (no torchrun agent),
// losing the store means rank 0 is gone.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace c10d {
class Store;
}

namespace talon::parallel {

struct HeartbeatOptions {
  std::string host;           // the rendezvous store
  std::uint16_t port = 0;
  std::string key_prefix;     // distinct per run attempt (torchrun restarts reuse its store)
  int rank = 0, world = 1;
  bool rank0_serves_store = true;
  std::chrono::milliseconds timeout{30000};  // a beat older than this means the rank is gone
};

class Heartbeat {
 public:
  explicit Heartbeat(HeartbeatOptions options);
  ~Heartbeat();  // stops the thread (as finish() does, without marking this rank done)
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  // Every rank has completed its work (after the run's final barrier): the
  // thread stops and this rank is marked done, so watchers skip it. The
  // rank that serves the store waits (up to the timeout) until every rank
  // is done, so no watcher loses the store while it still looks.
  void finish();
  // Publishes that this rank failed with `message`; the other ranks print it
  // and exit. The first announcement of a run wins.
  void announce_failure(const std::string& message);
  // Called after a collective failed: watches for a verdict until a dead
  // rank must have been found (the timeout and three beats), exiting the
  // process with it; else returns a sentence saying every rank still beats.
  std::string diagnose();

 private:
  std::chrono::milliseconds period() const;  // between beats: a tenth of the timeout, within [0.1 s, 1 s]
  void loop();
  void stop();
  void watch(c10d::Store& store);
  // Exits with the published verdict, unless there is none or it names this rank.
  void obey_verdict(c10d::Store& store) const;
  [[noreturn]] void exit_with(const std::string& verdict) const;

  HeartbeatOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace talon::parallel
