// DirLock against other processes: a second holder is refused at once with
// the first one's pid, and a holder killed with SIGKILL releases the lock.
#include "talon/util/dir_lock.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "talon/util/atomic_file.h"
#include "test_support.h"

namespace {

using talon::util::DirLock;

// A child process that takes the lock, says so on a pipe, and then waits
// to be killed. Returns its pid once it holds the lock.
pid_t start_holder(const std::string& dir) {
  int ready[2];
  EXPECT_EQ(::pipe(ready), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(ready[0]);
    try {
      DirLock lock(dir);
      const char byte = 1;
      if (::write(ready[1], &byte, 1) != 1) std::_Exit(2);
      for (;;) ::pause();
    } catch (...) {
      std::_Exit(1);
    }
  }
  ::close(ready[1]);
  char byte = 0;
  EXPECT_EQ(::read(ready[0], &byte, 1), 1) << "the holder did not take the lock";
  ::close(ready[0]);
  return pid;
}

TEST(DirLock, ASecondHolderIsRefusedUntilTheFirstIsKilled) {
  talon::testing::TempDir tmp;
  const std::string dir = tmp.file("run");
  const pid_t holder = start_holder(dir);
  EXPECT_EQ(talon::util::read_file(dir + "/.talon.lock"), std::to_string(holder) + "\n");
  talon::testing::expect_error([&] { DirLock second(dir); },
                               {dir + " is in use by another talon process (pid " + std::to_string(holder) + ")"});
  ::kill(holder, SIGKILL);
  int status = 0;
  ::waitpid(holder, &status, 0);
  {
    DirLock again(dir);  // the kernel released the killed holder's lock
    EXPECT_EQ(talon::util::read_file(dir + "/.talon.lock"), std::to_string(::getpid()) + "\n");
  }
  DirLock after_release(dir);  // and this process's own, when it went out of scope
}

TEST(DirLock, TwoLocksOfOneProcessExcludeEachOther) {
  talon::testing::TempDir tmp;
  DirLock first(tmp.file("run"));
  talon::testing::expect_error([&] { DirLock second(tmp.file("run")); }, {"is in use by another talon process"});
}

}  // namespace
