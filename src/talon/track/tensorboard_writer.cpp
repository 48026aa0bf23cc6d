#include "talon/track/tensorboard_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "talon/track/event.pb.h"
#include "talon/track/tfrecord.h"
#include "talon/util/error.h"

namespace talon::track {
namespace {

constexpr const char* kFileVersion = "brain.Event:2";

double unix_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

// Opens a new event file; a second writer in the same second and process
// (tests, a restarted tracker) gets ".<n>" before the suffix, as TensorFlow's
// own names carry a per-process counter there.
std::FILE* create_event_file(const std::string& log_dir, std::string& path) {
  std::string stem = log_dir + "/events.out.tfevents." + std::to_string(static_cast<long long>(unix_seconds())) + "." +
                     hostname() + "." + std::to_string(::getpid());
  for (int n = 0;; ++n) {
    path = stem + (n == 0 ? "" : "." + std::to_string(n)) + ".talon";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      if (std::FILE* file = ::fdopen(fd, "ab")) return file;
      ::close(fd);
    } else if (errno == EEXIST && n < 1000) {
      continue;
    }
    fail("cannot create TensorBoard event file {}: {}", path, std::strerror(errno));
  }
}

}  // namespace

TensorBoardWriter::TensorBoardWriter(const std::string& log_dir, std::optional<std::int64_t> resume_step) {
  std::error_code error;
  std::filesystem::create_directories(log_dir, error);
  if (error) fail("cannot create TensorBoard log directory {}: {}", log_dir, error.message());
  file_.reset(create_event_file(log_dir, path_));

  proto::Event event;
  event.set_wall_time(unix_seconds());
  event.set_file_version(kFileVersion);
  write_event(event.SerializeAsString());
  if (resume_step) {
    proto::Event restart;
    restart.set_wall_time(unix_seconds());
    restart.set_step(*resume_step + 1);
    restart.mutable_session_log()->set_status(proto::SessionLog::START);
    write_event(restart.SerializeAsString());
  }
  flush();
}

void TensorBoardWriter::add_scalar(std::string_view tag, double value, std::int64_t step) {
  proto::Event event;
  event.set_wall_time(unix_seconds());
  event.set_step(step);
  proto::Summary::Value* entry = event.mutable_summary()->add_value();
  entry->set_tag(std::string(tag));
  entry->set_simple_value(static_cast<float>(value));
  write_event(event.SerializeAsString());
}

void TensorBoardWriter::flush() {
  if (std::fflush(file_.get()) != 0) fail("cannot write TensorBoard event file {}: {}", path_, std::strerror(errno));
}

void TensorBoardWriter::write_event(const std::string& serialized_event) {
  std::string record;
  record.reserve(serialized_event.size() + kTfRecordOverhead);
  append_tfrecord(record, serialized_event);
  if (std::fwrite(record.data(), 1, record.size(), file_.get()) != record.size()) {
    fail("cannot write TensorBoard event file {}: {}", path_, std::strerror(errno));
  }
}

}  // namespace talon::track
