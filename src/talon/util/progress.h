// A progress display for long jobs: a redrawn bar on a terminal, a plain line
// every few seconds otherwise (logs, CI). Rates and ETA come from wall time.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace talon::util {

class Progress {
 public:
  // total = 0 means unknown (no bar, no ETA). `unit` names what is counted.
  Progress(std::string label, std::uint64_t total, std::string unit, std::FILE* out = stderr);
  ~Progress();  // finish() if not done yet

  void advance(std::uint64_t n = 1);
  void set_suffix(std::string suffix);  // extra text such as a loss
  void finish();

  double elapsed_seconds() const;

 private:
  void draw(bool final);

  std::string label_, unit_, suffix_;
  std::uint64_t total_, done_ = 0;
  std::FILE* out_;
  bool terminal_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

std::string format_duration(double seconds);  // "1:02:03" or "02:03"
std::string format_bytes(std::uint64_t bytes);  // "812 B", "1.65 MiB", "12.0 TiB" (binary units)

}  // namespace talon::util
