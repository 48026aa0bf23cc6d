// Whether SGLang and vLLM would serve a draft directory as Talon computes it
// (`talon check-draft`, and training on every checkpoint it writes). The
// engines load a draft leniently: SGLang skips tensors it does not know,
// both fill absent config fields with their own defaults, and neither
// compares the draft with the target beyond a few sizes. What they read,
// with their defaults, is in docs/checkpoints.md, "What the engines read".
#pragma once

#include <string>
#include <vector>

#include "talon/io/hf_config.h"

namespace talon::model {

struct DraftCheck {
  // Each names the file and the field or tensor, what the engines would do
  // and what Talon expects; empty when the draft passes.
  std::vector<std::string> problems;
  std::string checked;  // one line: what was checked, for a passing draft
};

// Reads dir/config.json and dir/model.safetensors (the header, and d2t and
// t2d) and checks them against the target's config; `target_name` names the
// target in the problems. Nothing else of the target is read.
DraftCheck check_draft_for_engines(const std::string& dir, const io::TargetConfig& target,
                                   const std::string& target_name);

}  // namespace talon::model
