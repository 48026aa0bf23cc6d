#include "talon/parallel/heartbeat.h"

#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace talon::parallel {
namespace {

using Clock = std::chrono::steady_clock;

const std::string kVerdict = "verdict";      // "<rank>\n<what happened to it>"
const std::string kClaim = "verdict_claim";  // the first to add 1 writes the verdict

std::string beat_key(int rank) { return "beat/" + std::to_string(rank); }
std::string done_key(int rank) { return "done/" + std::to_string(rank); }

std::string to_string(const std::vector<std::uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

c10::intrusive_ptr<c10d::Store> connect(const HeartbeatOptions& o, std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions store_options;
  store_options.port = o.port;
  store_options.isServer = false;
  store_options.waitWorkers = false;
  store_options.timeout = timeout;
  auto tcp = c10::make_intrusive<c10d::TCPStore>(o.host, store_options);
  return c10::make_intrusive<c10d::PrefixStore>(o.key_prefix, tcp);
}

void publish(c10d::Store& store, int rank, const std::string& what) {
  if (store.add(kClaim, 1) != 1) return;  // someone was first
  const std::string value = std::to_string(rank) + "\n" + what;
  store.set(kVerdict, std::vector<std::uint8_t>(value.begin(), value.end()));
}

}  // namespace

Heartbeat::Heartbeat(HeartbeatOptions options) : options_(std::move(options)) {
  thread_ = std::thread([this] { loop(); });
}

Heartbeat::~Heartbeat() { stop(); }

void Heartbeat::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Heartbeat::finish() {
  stop();
  try {
    c10::intrusive_ptr<c10d::Store> store = connect(options_, options_.timeout);
    store->set(done_key(options_.rank), std::vector<std::uint8_t>{1});
    if (options_.rank == 0 && options_.rank0_serves_store) {
      std::vector<std::string> everyone;
      for (int r = 0; r < options_.world; ++r) everyone.push_back(done_key(r));
      store->wait(everyone, options_.timeout);
    }
  } catch (const std::exception&) {
    // The run is complete; a rank that vanished after the final barrier changes nothing.
  }
}

void Heartbeat::announce_failure(const std::string& message) {
  try {
    publish(*connect(options_, std::chrono::milliseconds(5000)), options_.rank,
            fmt::format("rank {} failed: {}", options_.rank, message));
  } catch (const std::exception&) {
    // Best effort: without the store the others find out through their own watch.
  }
  // The store dies with the rank that serves it: stay until the others have read the verdict.
  if (options_.rank == 0 && options_.rank0_serves_store) std::this_thread::sleep_for(2 * period());
}

std::string Heartbeat::diagnose() {
  // A dead rank is named within the timeout and two beats; one more to publish it.
  const auto deadline = Clock::now() + options_.timeout + 3 * period() + std::chrono::seconds(1);
  try {
    c10::intrusive_ptr<c10d::Store> store = connect(options_, options_.timeout);
    while (Clock::now() < deadline) {
      obey_verdict(*store);
      std::this_thread::sleep_for(period());
    }
  } catch (const std::exception&) {
    // The store is gone with rank 0; the watch thread says so.
    std::this_thread::sleep_until(deadline);
  }
  return fmt::format("every rank still beats (heartbeat timeout {} s)", options_.timeout.count() / 1000.0);
}

void Heartbeat::obey_verdict(c10d::Store& store) const {
  if (!store.check({kVerdict})) return;
  const std::string verdict = to_string(store.get(kVerdict));
  const std::size_t newline = verdict.find('\n');
  if (verdict.substr(0, newline) != std::to_string(options_.rank)) exit_with(verdict.substr(newline + 1));
}

void Heartbeat::exit_with(const std::string& verdict) const {
  fmt::print(stderr, "talon: error: rank {} of {}: {}; stopping\n", options_.rank, options_.world, verdict);
  std::fflush(stderr);
  std::_Exit(1);  // the main thread may be blocked in a collective that never returns
}

void Heartbeat::loop() {
  try {
    c10::intrusive_ptr<c10d::Store> store = connect(options_, options_.timeout);
    watch(*store);
  } catch (const std::exception& e) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
    }
    const std::string where = fmt::format("{}:{}", options_.host, options_.port);
    exit_with(options_.rank0_serves_store && options_.rank != 0
                  ? fmt::format("rank 0 stopped: the rendezvous store it served at {} is unreachable ({})", where,
                                e.what())
                  : fmt::format("the rendezvous store at {} is unreachable ({})", where, e.what()));
  }
}

std::chrono::milliseconds Heartbeat::period() const {
  return std::clamp<std::chrono::milliseconds>(options_.timeout / 10, std::chrono::milliseconds(100),
                                               std::chrono::milliseconds(1000));
}

void Heartbeat::watch(c10d::Store& store) {
  const std::chrono::milliseconds period = this->period();
  const int rank = options_.rank, world = options_.world;
  int watched = -1;
  std::int64_t last_beat = -1;
  Clock::time_point last_change = Clock::now();
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (wake_.wait_for(lock, period, [this] { return stopping_; })) return;
    }
    store.add(beat_key(rank), 1);
    obey_verdict(store);
    int peer = -1;  // the nearest earlier rank still working
    for (int k = 1; k < world && peer < 0; ++k) {
      const int candidate = (rank - k + world) % world;
      if (!store.check({done_key(candidate)})) peer = candidate;
    }
    if (peer < 0) continue;
    const Clock::time_point now = Clock::now();
    if (peer != watched) {
      watched = peer;
      last_beat = -1;
      last_change = now;
    }
    const std::int64_t beat = store.add(beat_key(peer), 0);
    if (beat != last_beat) {
      last_beat = beat;
      last_change = now;
    } else if (now - last_change > options_.timeout) {
      const std::string verdict =
          fmt::format("rank {} stopped: no heartbeat for {:.0f} s (killed, crashed, or its machine is unreachable)",
                      peer, std::chrono::duration<double>(now - last_change).count());
      publish(store, peer, verdict);
      exit_with(verdict);
    }
  }
}

}  // namespace talon::parallel
