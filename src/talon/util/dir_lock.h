// Exclusive use of a directory for a process's lifetime: flock(2) on
// DIR/.talon.lock, which holds the holder's pid as text. The kernel drops
// the lock when the holder exits, however it ends (kill -9 included), so a
// lock file left behind is harmless: the next run takes it.
#pragma once

#include <string>

namespace talon::util {

inline constexpr const char* kLockFile = ".talon.lock";

class DirLock {
 public:
  // Creates dir if needed. Throws talon::Error at once, naming dir and the
  // holder's pid, when another process holds it (or another DirLock of
  // this process: each open of the file is its own lock). On a filesystem
  // without locks it warns on stderr and holds nothing.
  explicit DirLock(const std::string& dir);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace talon::util
