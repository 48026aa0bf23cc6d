// Scalars for TensorBoard, written natively: an events.out.tfevents.* file of
// TFRecords, each holding one serialized Event (see event.proto). Point
// TensorBoard's --logdir at log_dir. Not thread-safe; one writer per run
// (rank 0).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace talon::track {

class TensorBoardWriter {
 public:
  // Creates log_dir (and its parents) and a new file in it,
  // "events.out.tfevents.<unix seconds>.<hostname>.<pid>.talon", whose first
  // Event carries file_version "brain.Event:2". A run resumed from the
  // checkpoint of step resume_step also writes a SessionLog START at
  // resume_step + 1, so TensorBoard's Python loader (--purge_orphaned_data)
  // drops the points of steps after the checkpoint that the killed run had
  // written to its own file.
  explicit TensorBoardWriter(const std::string& log_dir, std::optional<std::int64_t> resume_step = std::nullopt);

  // One Event per call; the value is stored as float (simple_value).
  void add_scalar(std::string_view tag, double value, std::int64_t step);
  void flush();  // hands buffered events to the OS; cheap enough for every step

  const std::string& path() const { return path_; }

 private:
  void write_event(const std::string& serialized_event);

  struct Closer {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };
  std::string path_;
  std::unique_ptr<std::FILE, Closer> file_;
};

}  // namespace talon::track
