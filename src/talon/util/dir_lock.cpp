#include "talon/util/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "talon/util/error.h"

namespace talon::util {

DirLock::DirLock(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail("{}: cannot create directory: {}", dir, ec.message());
  const std::string path = dir + "/" + kLockFile;
  // O_CLOEXEC: a child that execs (a rank of `talon launch`, a shell) must
  // not hold the lock after this process is gone.
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) {
      // Some cluster filesystems (Lustre mounted without flock) have no
      // locks: refusing to run there would be worse than running unguarded.
      fmt::print(stderr, "warning: cannot lock {}: {}; nothing stops a second run on {}\n", path, std::strerror(err),
                 dir);
      return;
    }
    char holder[32] = {};
    const ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
    ::close(fd_);
    std::string pid(holder, n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    fail("{} is in use by another talon process (pid {}): wait for it to finish, or stop it, or choose another "
         "--output-dir",
         dir, pid.empty() ? "not yet written" : pid);
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int err = errno;
    ::close(fd_);
    fail("{}: cannot write the pid: {}", path, std::strerror(err));
  }
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock; the file stays for the next holder
}

}  // namespace talon::util
