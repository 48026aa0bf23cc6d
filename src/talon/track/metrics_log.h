// OUTPUT_DIR/metrics.jsonl: one JSON object per line, each with an integer
// "step", appended and flushed record by record so a killed run loses at most
// the line it was writing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace talon::track {

class MetricsLog {
 public:
  // Opens `path` for appending, creating it and its folder if missing. Only
  // the records with "step" <= resume_step survive: those of a run resumed
  // from the checkpoint of that step. Records a killed run wrote after its
  // last checkpoint, and a torn last line (no newline: the crash came mid
  // write), are dropped. resume_step < 0 starts an empty log. The kept lines
  // are rewritten atomically before anything is appended. Throws
  // talon::Error for a complete line that is not an object with an integer
  // "step" (file and line named).
  static MetricsLog open(const std::string& path, std::int64_t resume_step);

  // Writes `record` (an object with an integer "step") as one line, flushed.
  void append(const nlohmann::json& record);

  const std::string& path() const { return path_; }
  std::size_t kept_records() const { return kept_; }        // by open()
  std::size_t dropped_records() const { return dropped_; }  // by open(), a torn line included

 private:
  MetricsLog() = default;

  struct Closer {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };
  std::string path_;
  std::unique_ptr<std::FILE, Closer> file_;
  std::size_t kept_ = 0, dropped_ = 0;
};

}  // namespace talon::track
