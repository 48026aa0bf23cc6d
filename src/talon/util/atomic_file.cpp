#include "talon/util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "talon/util/error.h"
#include "talon/util/output_manifest.h"

namespace talon::util {
namespace fs = std::filesystem;

namespace {

std::string temp_name(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

void fsync_path(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return;  // best effort: some filesystems refuse O_RDONLY on dirs
  ::fsync(fd);
  ::close(fd);
}

// "out/" -> "out": the temporary and the set-aside directories are siblings
// named after it, never entries inside it.
std::string without_trailing_slashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

std::string parent_dir(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), temp_path_(temp_name(path_)) {
  file_ = std::fopen(temp_path_.c_str(), "wb");
  if (file_ == nullptr) fail("{}: cannot create: {}", temp_path_, std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::remove(temp_path_.c_str());
  }
}

void AtomicFile::write(const void* data, std::size_t size) {
  if (file_ == nullptr) fail("{}: write after commit", path_);
  if (size > 0 && std::fwrite(data, 1, size, file_) != size) {
    fail("{}: write failed: {}", temp_path_, std::strerror(errno));
  }
  written_ += size;
}

void AtomicFile::commit() {
  if (file_ == nullptr) fail("{}: committed twice", path_);
  bool ok = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  int err = errno;
  ok = (std::fclose(file_) == 0) && ok;
  file_ = nullptr;
  if (!ok) {
    std::remove(temp_path_.c_str());
    fail("{}: cannot flush: {}", temp_path_, std::strerror(err));
  }
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    err = errno;
    std::remove(temp_path_.c_str());
    fail("{}: cannot rename into place: {}", path_, std::strerror(err));
  }
  fsync_path(parent_dir(path_), O_RDONLY | O_DIRECTORY);
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
}

AtomicDir::AtomicDir(std::string path, std::string kind, Replace replace)
    : path_(without_trailing_slashes(std::move(path))),
      kind_(std::move(kind)),
      replace_(replace),
      temp_path_(temp_name(path_)) {
  if (replace_ == Replace::kOwnOutput) check_replaceable(path_, kind_);
  std::error_code ec;
  fs::remove_all(temp_path_, ec);
  if (!fs::create_directories(temp_path_, ec) || ec) {
    fail("{}: cannot create directory: {}", temp_path_, ec.message());
  }
}

AtomicDir::~AtomicDir() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(temp_path_, ec);
  }
}

void AtomicDir::commit() {
  if (committed_) fail("{}: committed twice", path_);
  if (replace_ == Replace::kOwnOutput) check_replaceable(path_, kind_);  // again: the run may have been long
  write_manifest(temp_path_, kind_);
  std::error_code ec;
  // Files inside were synced as they were written; the directory entries
  // (subdirectories included) must be too before the tree becomes visible.
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(temp_path_, ec)) {
    if (entry.is_directory()) fsync_path(entry.path().string(), O_RDONLY | O_DIRECTORY);
  }
  fsync_path(temp_path_, O_RDONLY | O_DIRECTORY);
  // rename(2) cannot replace a non-empty directory: move the old one aside
  // first, so the new tree appears in one step and the old one goes after.
  std::string old = path_ + ".old." + std::to_string(::getpid());
  bool had_old = fs::exists(path_, ec);
  if (had_old) {
    fs::remove_all(old, ec);
    fs::rename(path_, old, ec);
    if (ec) fail("{}: cannot move the previous directory aside: {}", path_, ec.message());
  }
  fs::rename(temp_path_, path_, ec);
  if (ec) {
    std::string reason = ec.message();
    if (had_old) fs::rename(old, path_, ec);  // put the previous tree back
    fail("{}: cannot rename into place: {}", path_, reason);
  }
  committed_ = true;
  fsync_path(parent_dir(path_), O_RDONLY | O_DIRECTORY);
  if (had_old) fs::remove_all(old, ec);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open: {}", path, std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) fail("{}: read failed", path);
  return out.str();
}

}  // namespace talon::util
