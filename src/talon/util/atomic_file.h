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

// A directory built under "<path>.tmp.<pid>" and renamed into place at
// commit(), with the manifest of its files (output_manifest.h) written last.
class AtomicDir {
 public:
  // What may stand at path for commit() to replace it.
  enum class Replace {
    kOwnOutput,  // nothing, an empty directory, or an earlier output of the same kind (check_replaceable)
    kAnything,   // whatever is there: for names Talon alone writes inside its own directories
  };
  // `kind` ("prepared dataset", "target model", "checkpoint") goes into the
  // manifest. With kOwnOutput, path is checked here, before any work, and
  // again at commit(); the directory it replaces goes only once the new one
  // is in place.
  AtomicDir(std::string path, std::string kind, Replace replace = Replace::kOwnOutput);
  ~AtomicDir();  // removes the temp tree unless committed
  AtomicDir(const AtomicDir&) = delete;
  AtomicDir& operator=(const AtomicDir&) = delete;

  const std::string& temp_path() const { return temp_path_; }
  std::string file(const std::string& name) const { return temp_path_ + "/" + name; }
  void commit();

 private:
  std::string path_;
  std::string kind_;
  Replace replace_;
  std::string temp_path_;
  bool committed_ = false;
};

std::string read_file(const std::string& path);  // throws talon::Error

}  // namespace talon::util
