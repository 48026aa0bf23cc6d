#include "talon/util/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace talon::util {

namespace {
constexpr int kBarWidth = 30;
constexpr double kTerminalRedrawSeconds = 0.1;
constexpr double kPlainLineSeconds = 10.0;
}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  auto s = static_cast<long long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{:02}:{:02}", s / 60, s % 60);
}

std::string format_bytes(std::uint64_t bytes) {
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  auto value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 5) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.{}f} {}", value, value < 100 ? 2 : 1, kUnits[unit]);
}

Progress::Progress(std::string label, std::uint64_t total, std::string unit, std::FILE* out)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      out_(out),
      terminal_(::isatty(::fileno(out)) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { finish(); }

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::advance(std::uint64_t n) {
  done_ += n;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since >= (terminal_ ? kTerminalRedrawSeconds : kPlainLineSeconds)) {
    last_draw_ = now;
    draw(false);
  }
}

void Progress::set_suffix(std::string suffix) { suffix_ = std::move(suffix); }

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  draw(true);
}

void Progress::draw(bool final) {
  double elapsed = elapsed_seconds();
  double rate = elapsed > 0 ? done_ / elapsed : 0.0;
  std::string line = label_;
  if (total_ > 0) {
    double frac = std::min(1.0, static_cast<double>(done_) / total_);
    int filled = static_cast<int>(frac * kBarWidth);
    std::string bar = std::string(filled, '#') + std::string(kBarWidth - filled, ' ');
    double eta = rate > 0 ? (total_ - std::min(done_, total_)) / rate : NAN;
    line += fmt::format(" [{}] {}/{} {:.1f} {}/s ETA {}", bar, done_, total_, rate, unit_,
                        final ? format_duration(0) : format_duration(eta));
  } else {
    line += fmt::format(" {} {:.1f} {}/s", done_, rate, unit_);
  }
  line += fmt::format(" elapsed {}", format_duration(elapsed));
  if (!suffix_.empty()) line += " " + suffix_;
  if (terminal_) {
    fmt::print(out_, "\r\x1b[2K{}{}", line, final ? "\n" : "");
  } else {
    fmt::print(out_, "{}\n", line);
  }
  std::fflush(out_);
}

}  // namespace talon::util
