// The manifest AtomicDir writes last into every directory it commits,
// DIR/.talon-output.json: what the directory is (its kind: "prepared
// dataset", "target model", "checkpoint") and the size and XXH64 of each
// file under it (docs/formats.md). It lets a reader verify the files, and
// tells a later run what it may replace: Talon replaces only its own earlier
// output of the same kind, never a directory that holds anything else.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace talon::util {

inline constexpr const char* kManifestFile = ".talon-output.json";

// Lists every regular file under dir (paths relative to it, '/'-separated)
// in dir/.talon-output.json, written atomically.
void write_manifest(const std::string& dir, const std::string& kind);

// The files of dir that do not match its manifest, one clause each naming
// the file ("DIR/config.json: checksum differs from .talon-output.json");
// empty when every listed file is intact, nullopt when dir has no manifest.
std::optional<std::vector<std::string>> damaged_files(const std::string& dir);

// Throws talon::Error, naming path and what is there, unless path is absent,
// an empty directory, or an earlier output of `kind` holding nothing beyond
// the files its manifest lists: the only things AtomicDir may replace.
void check_replaceable(const std::string& path, const std::string& kind);

}  // namespace talon::util
