#include "talon/util/output_manifest.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <xxhash.h>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "talon/util/atomic_file.h"
#include "talon/util/error.h"
#include "talon/util/json_file.h"
#include "talon/util/mmap_file.h"

namespace talon::util {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kFormat = "talon-output";
constexpr int kVersion = 1;
constexpr std::size_t kNamesShown = 5;
constexpr const char* kMoveIt = "move it away or choose another --output-dir";
constexpr const char* kMoveThese = "move these away or choose another --output-dir";

std::string xxh64_hex(const MmapFile& file) { return fmt::format("{:016x}", XXH64(file.data(), file.size(), 0)); }

struct Manifest {
  std::string kind;
  json files;  // relative path -> {"bytes", "xxh64"}
};

// dir's manifest; nullopt when it has none. Throws when it is malformed.
std::optional<Manifest> read_manifest(const std::string& dir) {
  const std::string path = dir + "/" + kManifestFile;
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) return std::nullopt;
  const json j = load_json_file(path);
  Manifest m;
  try {
    if (j.at("format") != kFormat || j.at("version") != kVersion) {
      fail("format {} version {}, expected \"{}\" version {}", j.at("format").dump(), j.at("version").dump(), kFormat,
           kVersion);
    }
    m.kind = j.at("kind").get<std::string>();
    m.files = j.at("files");
    if (!m.files.is_object()) fail("\"files\" is not an object");
    for (const auto& [name, entry] : m.files.items()) {
      const fs::path relative = fs::path(name).lexically_normal();
      if (relative.is_absolute() || relative.empty() || *relative.begin() == "..") {
        fail("\"{}\" is not a path inside the directory", name);
      }
      entry.at("bytes").get<std::uint64_t>();
      entry.at("xxh64").get<std::string>();
    }
  } catch (const json::exception& e) {
    fail("{}: malformed: {}", path, e.what());
  } catch (const Error& e) {
    fail("{}: malformed: {}", path, e.what());
  }
  return m;
}

// Everything under dir that is not a directory, as sorted relative paths.
std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_directory() || entry.is_symlink()) {
      names.push_back(entry.path().lexically_relative(dir).generic_string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// "a, b, c, d, e, ... (12 in all)"
std::string listing(const std::vector<std::string>& names) {
  const std::size_t shown = std::min(names.size(), kNamesShown);
  std::string text = fmt::format("{}", fmt::join(names.begin(), names.begin() + shown, ", "));
  if (names.size() > shown) text += fmt::format(", ... ({} in all)", names.size());
  return text;
}

// The entries directly in dir, directories with a trailing '/'. Not
// recursive: dir may be anything the user named, a home directory included.
std::vector<std::string> top_level_entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const bool is_dir = entry.is_directory() && !entry.is_symlink();
    names.push_back(entry.path().filename().string() + (is_dir ? "/" : ""));
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

void write_manifest(const std::string& dir, const std::string& kind) {
  // ordered_json: written in this order, "format" first, for a reader's eyes.
  nlohmann::ordered_json files = nlohmann::ordered_json::object();
  for (const std::string& name : files_under(dir)) {
    if (name == kManifestFile) continue;
    const MmapFile file(dir + "/" + name);
    files[name] = {{"bytes", file.size()}, {"xxh64", xxh64_hex(file)}};
  }
  const nlohmann::ordered_json manifest = {
      {"format", kFormat}, {"version", kVersion}, {"kind", kind}, {"files", files}};
  write_file_atomic(dir + "/" + kManifestFile, manifest.dump(2) + "\n");
}

std::optional<std::vector<std::string>> damaged_files(const std::string& dir) {
  std::optional<Manifest> manifest;
  try {
    manifest = read_manifest(dir);
  } catch (const Error& e) {
    return std::vector<std::string>{e.what()};
  }
  if (!manifest) return std::nullopt;
  std::vector<std::string> damaged;
  for (const auto& [name, expected] : manifest->files.items()) {
    const std::string path = dir + "/" + name;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      damaged.push_back(fmt::format("{}: missing", path));
      continue;
    }
    try {
      const MmapFile file(path);
      const auto bytes = expected.at("bytes").get<std::uint64_t>();
      if (file.size() != bytes) {
        damaged.push_back(fmt::format("{}: {} bytes where {} lists {}", path, file.size(), kManifestFile, bytes));
      } else if (xxh64_hex(file) != expected.at("xxh64").get<std::string>()) {
        damaged.push_back(fmt::format("{}: checksum differs from {}", path, kManifestFile));
      }
    } catch (const Error& e) {
      damaged.push_back(e.what());
    }
  }
  return damaged;
}

void check_replaceable(const std::string& path, const std::string& kind) {
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(path, ec);
  if (!fs::exists(status)) return;
  if (fs::is_symlink(status)) {
    fail("{} is a symbolic link; Talon writes a new directory in its place and will not replace a link: give the "
         "directory it points to, or choose another --output-dir",
         path);
  }
  if (!fs::is_directory(status)) {
    fail("{} is a {}, not a directory; Talon replaces only its own output: {}", path,
         fs::is_regular_file(status) ? "file" : "special file", kMoveIt);
  }
  if (fs::is_empty(path)) return;
  std::optional<Manifest> manifest;
  std::string unreadable;
  try {
    manifest = read_manifest(path);
  } catch (const Error& e) {
    unreadable = fmt::format(" ({})", e.what());
  }
  if (!manifest) {
    const std::vector<std::string> entries = top_level_entries(path);
    fail("{} is not empty and is not an earlier Talon {}{}: it holds {}; Talon replaces only its own output: {}", path,
         kind, unreadable.empty() ? fmt::format(" (it has no {})", kManifestFile) : unreadable, listing(entries),
         kMoveThese);
  }
  if (manifest->kind != kind) {
    fail("{} holds a Talon {}, not a {}; Talon replaces only an earlier output of the same kind: {}", path,
         manifest->kind, kind, kMoveIt);
  }
  std::vector<std::string> extra;
  for (const std::string& name : files_under(path)) {
    if (name != kManifestFile && !manifest->files.contains(name)) extra.push_back(name);
  }
  if (!extra.empty()) {
    fail("{} holds an earlier Talon {} and files it did not write: {}; Talon replaces only its own output: {}", path,
         kind, listing(extra), kMoveThese);
  }
}

}  // namespace talon::util
