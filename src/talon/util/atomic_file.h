// Writes that never leave a half-written file or directory behind: data goes
// to a temporary sibling, which is fsync'ed and renamed into place on
// commit(). Without commit() (an exception, a crash) the target is untouched.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace talon::util {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // opens "<path>.tmp.<pid>"
  ~AtomicFile();                          // removes the temp file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t size);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  std::size_t bytes_written() const { return written_; }
  void commit();  // flush, fsync, rename over path

 private:
  std::string path_;
  std::string temp_path_;
  std::FILE* file_ = nullptr;
  std::size_t written_ = 0;
};

void write_file_atomic(const std::string& path, std::string_view bytes);

// A directory built under "<path>.tmp.<pid>" and renamed into place; an
// existing directory at path is replaced only at commit().
class AtomicDir {
 public:
  explicit AtomicDir(std::string path);
  ~AtomicDir();  // removes the temp tree unless committed
  AtomicDir(const AtomicDir&) = delete;
  AtomicDir& operator=(const AtomicDir&) = delete;

  const std::string& temp_path() const { return temp_path_; }
  std::string file(const std::string& name) const { return temp_path_ + "/" + name; }
  void commit();

 private:
  std::string path_;
  std::string temp_path_;
  bool committed_ = false;
};

std::string read_file(const std::string& path);  // throws talon::Error

}  // namespace talon::util
