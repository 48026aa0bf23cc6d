#include "talon/train/checkpointer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <vector>

#include "talon/util/atomic_file.h"
#include "talon/util/error.h"
#include "talon/util/output_manifest.h"

namespace talon::train {
namespace fs = std::filesystem;

namespace {

struct Found {
  std::int64_t step;
  fs::path path;
};

// Complete checkpoints, by ascending step; temporaries of killed runs
// removed when `clean`.
std::vector<Found> list_checkpoints(const std::string& output_dir, bool clean) {
  static const std::regex complete(R"(epoch_(\d+)_step_(\d+))");
  static const std::regex temporary(R"(epoch_\d+_step_\d+\.(tmp|old)\..*)");
  std::vector<Found> found;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(output_dir, ec)) {
    const std::string name = entry.path().filename().string();
    std::smatch match;
    if (std::regex_match(name, match, complete) && entry.is_directory()) {
      found.push_back({std::stoll(match[2]), entry.path()});
    } else if (clean && std::regex_match(name, temporary)) {
      fs::remove_all(entry.path(), ec);
    }
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.step < b.step; });
  return found;
}

}  // namespace

Checkpointer::Checkpointer(std::string output_dir, std::int64_t keep_last, bool writer, DraftCheckFn check)
    : output_dir_(std::move(output_dir)), keep_last_(keep_last), writer_(writer), check_(std::move(check)) {}

std::string Checkpointer::save(std::int64_t epoch, std::int64_t step,
                               const std::function<void(const std::string&)>& write) const {
  const std::string name = fmt::format("epoch_{}_step_{}", epoch, step);
  const std::string path = output_dir_ + "/" + name;
  if (!writer_) return path;
  {
    // The name is Talon's own, inside the run's locked directory: what it
    // replaces is a checkpoint that resume() found damaged and passed over.
    util::AtomicDir dir(path, "checkpoint", util::AtomicDir::Replace::kAnything);
    write(dir.temp_path());
    // Reads back config.json and the safetensors header (and d2t/t2d): a
    // few MB at most, against the target's config alone.
    const model::DraftCheck check = check_(dir.temp_path());
    if (!check.problems.empty()) {
      fail("checkpoint {} is not what SGLang and vLLM would serve as trained: {}. This is a Talon bug: please "
           "report it with this message",
           path, fmt::join(check.problems, "; "));
    }
    dir.commit();
  }
  util::write_file_atomic(output_dir_ + "/latest", name + "\n");
  if (keep_last_ > 0) {
    std::vector<Found> all = list_checkpoints(output_dir_, true);
    for (std::size_t i = 0; i + static_cast<std::size_t>(keep_last_) < all.size(); ++i) fs::remove_all(all[i].path);
  }
  return path;
}

std::optional<std::string> Checkpointer::newest() const {
  std::vector<Found> all = list_checkpoints(output_dir_, writer_);
  if (all.empty()) return std::nullopt;
  return all.back().path.string();
}

std::optional<std::string> Checkpointer::newest_intact() const {
  const std::vector<Found> all = list_checkpoints(output_dir_, writer_);
  std::vector<std::string> damage;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    const std::string dir = it->path.string();
    const std::optional<std::vector<std::string>> damaged = util::damaged_files(dir);
    if (!damaged) {
      if (writer_) {
        fmt::print(stderr, "warning: {} has no {} (an earlier Talon wrote it): resuming from it unverified\n", dir,
                   util::kManifestFile);
      }
      return dir;
    }
    if (damaged->empty()) return dir;
    damage.push_back(fmt::format("{}", fmt::join(*damaged, "; ")));
    if (writer_) {
      fmt::print(stderr, "warning: checkpoint {} is damaged: {}; trying the one before it\n", dir, damage.back());
    }
  }
  if (!damage.empty()) {
    fail("every checkpoint in {} is damaged ({}): restore one from a copy, or start a new run in another --output-dir",
         output_dir_, fmt::join(damage, "; "));
  }
  return std::nullopt;
}

}  // namespace talon::train
