#include "talon/regen/resumable_output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "talon/util/atomic_file.h"
#include "talon/util/error.h"
#include "talon/util/json_file.h"

namespace talon::regen {
namespace {

// Opens `path` for appending after cutting it to `length` bytes.
int open_at(const std::string& path, std::int64_t length) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) fail("{}: cannot open for writing: {}", path, std::strerror(errno));
  struct stat st {};
  ::fstat(fd, &st);
  if (st.st_size < length) {
    ::close(fd);
    fail("{}: {} bytes, shorter than the {} its progress file records: the file was changed", path, st.st_size, length);
  }
  if (::ftruncate(fd, length) != 0 || ::lseek(fd, length, SEEK_SET) < 0) {
    const int error = errno;
    ::close(fd);
    fail("{}: cannot cut back to {} bytes: {}", path, length, std::strerror(error));
  }
  return fd;
}

void write_all(int fd, const std::string& data, const std::string& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("{}: write failed: {}", path, std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd) != 0) fail("{}: fdatasync failed: {}", path, std::strerror(errno));
}

}  // namespace

ResumableOutput::ResumableOutput(std::string output, std::string input)
    : output_(std::move(output)), input_(std::filesystem::weakly_canonical(input).string()) {
  namespace fs = std::filesystem;
  input_bytes_ = static_cast<std::int64_t>(fs::file_size(input_));
  if (fs::exists(progress_path())) {
    const nlohmann::json p = util::load_json_file(progress_path());
    try {
      const auto input_then = p.at("input").get<std::string>();
      const auto bytes_then = p.at("input_bytes").get<std::int64_t>();
      if (input_then != input_ || bytes_then != input_bytes_) {
        fail("records a run over {} ({} bytes), not {} ({} bytes); choose another output path", input_then, bytes_then,
             input_, input_bytes_);
      }
      lines_done_ = p.at("lines_done").get<std::int64_t>();
      output_bytes_ = p.at("output_bytes").get<std::int64_t>();
      failures_bytes_ = p.at("failures_bytes").get<std::int64_t>();
      failed_ = p.at("failed").get<std::int64_t>();
    } catch (const std::exception& e) {
      fail("{}: {}", progress_path(), e.what());
    }
  } else if (fs::exists(output_)) {
    fail("{}: exists and has no {}: not a run to resume; remove it or choose another output path", output_,
         progress_path());
  }
  if (const fs::path parent = fs::path(output_).parent_path(); !parent.empty()) fs::create_directories(parent);
  output_fd_ = open_at(output_, output_bytes_);
  failures_fd_ = open_at(failures_path(), failures_bytes_);
  sync();
}

ResumableOutput::~ResumableOutput() {
  if (output_fd_ >= 0) ::close(output_fd_);
  if (failures_fd_ >= 0) ::close(failures_fd_);
}

void ResumableOutput::add_result(const std::string& line) {
  pending_output_ += line + "\n";
  ++pending_lines_;
}

void ResumableOutput::add_failure(const std::string& line) {
  pending_failures_ += line + "\n";
  ++pending_lines_;
  ++pending_failed_;
}

void ResumableOutput::add_nothing() { ++pending_lines_; }

void ResumableOutput::sync() {
  if (broken_) fail("{}: an earlier write failed; rerun to resume from {}", output_, progress_path());
  try {
    write_all(output_fd_, pending_output_, output_);
    write_all(failures_fd_, pending_failures_, failures_path());
  } catch (...) {
    // Nothing past the recorded lengths may be counted later: cut a partial
    // write back off and refuse further writes.
    broken_ = true;
    (void)!::ftruncate(output_fd_, output_bytes_);
    (void)!::ftruncate(failures_fd_, failures_bytes_);
    throw;
  }
  // The test suite's stand-in for a crash at the worst moment: the lines are
  // written and the progress file does not count them yet.
  if (const char* kill = std::getenv("TALON_REGENERATE_KILL_AFTER_LINES");
      kill != nullptr && pending_lines_ > 0 && lines_done_ + pending_lines_ >= std::atoll(kill)) {
    std::_Exit(137);
  }
  output_bytes_ += static_cast<std::int64_t>(pending_output_.size());
  failures_bytes_ += static_cast<std::int64_t>(pending_failures_.size());
  lines_done_ += pending_lines_;
  failed_ += pending_failed_;
  pending_output_.clear();
  pending_failures_.clear();
  pending_lines_ = pending_failed_ = 0;
  const nlohmann::json p = {{"input", input_},
                            {"input_bytes", input_bytes_},
                            {"lines_done", lines_done_},
                            {"output_bytes", output_bytes_},
                            {"failures_bytes", failures_bytes_},
                            {"failed", failed_}};
  util::write_file_atomic(progress_path(), p.dump(2) + "\n");
}

}  // namespace talon::regen
