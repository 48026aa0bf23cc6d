// The output of a resumable line-by-line job: a JSONL file of results and a
// side file of failures, both appended in input order, and a progress file
// (OUT.progress) saying how many input lines they cover and how long each
// file is at that point. The progress file is replaced atomically after the
// appended lines are on disk, so a killed run leaves a consistent state: a
// rerun cuts both files back to the recorded lengths (dropping anything
// written after it) and goes on from the recorded line.
#pragma once

#include <cstdint>
#include <string>

namespace talon::regen {

class ResumableOutput {
 public:
  // Opens `output` (and output.failed.jsonl, output.progress) to continue
  // where a run reading `input` stopped, or starts them. Throws if output
  // exists without a progress file (not this job's: never overwritten) or
  // its progress is for another input (path or size).
  ResumableOutput(std::string output, std::string input);
  ~ResumableOutput();
  ResumableOutput(const ResumableOutput&) = delete;
  ResumableOutput& operator=(const ResumableOutput&) = delete;

  std::int64_t lines_done() const { return lines_done_; }  // input lines covered
  std::int64_t failed() const { return failed_; }          // lines in the failures file
  std::int64_t output_bytes() const { return output_bytes_; }

  // The next input line's outcome: a result line, a failure line, or
  // nothing (a blank input line). Buffered until sync().
  void add_result(const std::string& line);
  void add_failure(const std::string& line);
  void add_nothing();
  // Puts the added lines on disk, then records them in the progress file.
  void sync();

  std::string failures_path() const { return output_ + ".failed.jsonl"; }
  std::string progress_path() const { return output_ + ".progress"; }

 private:
  std::string output_, input_;
  int output_fd_ = -1, failures_fd_ = -1;
  std::int64_t output_bytes_ = 0, failures_bytes_ = 0, lines_done_ = 0, failed_ = 0;
  std::string pending_output_, pending_failures_;
  std::int64_t pending_lines_ = 0, pending_failed_ = 0;
  std::int64_t input_bytes_ = 0;
  bool broken_ = false;  // a write failed: nothing more is written
};

}  // namespace talon::regen
