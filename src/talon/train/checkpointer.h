// Checkpoint directories under the output directory (docs/checkpoints.md):
//   OUTPUT_DIR/epoch_E_step_S/            the SGLang/vLLM draft (brief §3)
//   OUTPUT_DIR/epoch_E_step_S/training_state/   what --resume needs
//   OUTPUT_DIR/latest                     the newest directory's name
// Each directory is built under a temporary name and renamed into place, so
// a directory with the final name is always complete, and only after its
// draft passes the method's engine check (model::check_draft_for_engines,
// model::check_block_draft_for_engines) against the target's config.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "talon/model/eagle3/draft_check.h"

namespace talon::train {

// Whether SGLang and vLLM would serve the draft directory `dir` as trained.
using DraftCheckFn = std::function<model::DraftCheck(const std::string& dir)>;

class Checkpointer {
 public:
  // keep_last = 0 keeps every checkpoint. Of the ranks of a run one is the
  // `writer` (rank 0): it alone writes, checks, prunes and removes
  // leftovers; the others only read. check: the method's engine check
  // against the target the drafts are trained for.
  Checkpointer(std::string output_dir, std::int64_t keep_last, bool writer, DraftCheckFn check);

  // The writer builds epoch_E_step_S through `write(temp_dir)`, checks its
  // draft as SGLang and vLLM would load it (a problem throws, naming each:
  // a Talon bug, since Talon wrote it), renames it into place, updates
  // `latest`, then removes the oldest beyond keep_last. Returns the
  // directory's path (on every rank).
  std::string save(std::int64_t epoch, std::int64_t step, const std::function<void(const std::string&)>& write) const;

  // The complete checkpoint with the highest step, if any. The writer
  // removes leftover temporary directories of a killed run.
  std::optional<std::string> newest() const;

  // The complete checkpoint with the highest step whose files match its
  // manifest (util/output_manifest.h): a damaged one is named on stderr (by
  // the writer) and passed over for the one before it. One without a
  // manifest, written before Talon made them, is taken with a warning.
  // Throws naming the damaged files when every checkpoint is damaged.
  std::optional<std::string> newest_intact() const;

 private:
  std::string output_dir_;
  std::int64_t keep_last_;
  bool writer_;
  DraftCheckFn check_;
};

}  // namespace talon::train
