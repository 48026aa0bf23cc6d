// The draft directory SGLang and vLLM load as an EAGLE-3 draft (brief §3):
//   config.json        io::to_json(DraftConfig)
//   model.safetensors  the trainable tensors under their checkpoint names,
//                      BF16, plus d2t (I64 [Vd]) and t2d (BOOL [V]).
// embed_tokens is not saved: the server shares the target's.
#pragma once

#include <string>

#include "talon/model/eagle3_draft.h"
#include "talon/model/target_distribution.h"

namespace talon::model {

// Writes the two files into `dir`, an existing directory (the caller makes
// it atomic: see train/checkpointer.h). parameters: the whole trainable
// tensors under their checkpoint names (Eagle3Draft::parameters() of a
// single-process draft, or the optimizer's gathered masters).
void save_draft_checkpoint(const std::string& dir, const io::DraftConfig& config, const NamedTensors& parameters,
                           const DraftVocab& vocab);

struct DraftCheckpoint {
  io::DraftConfig config;
  NamedTensors parameters;  // CPU, as stored (BF16 for Talon's own)
};

// Throws talon::Error naming each file of dir that does not match its
// .talon-output.json (util::damaged_files); a directory without one (a
// SpecForge or Hugging Face draft) passes unverified.
void check_draft_checkpoint_intact(const std::string& dir);

// Reads a Talon or SpecForge draft directory's config and weights, after
// check_draft_checkpoint_intact. d2t/t2d
// are left to data::VocabMapping::load, which validates them; an
// `embed_tokens.weight` is ignored (the embedding always comes from the
// target); any other unknown tensor is an error naming it, and so is a
// draft tensor missing or shaped otherwise than config.json says (checked
// before any draft is built, so a wrong size cannot become an allocation).
DraftCheckpoint load_draft_checkpoint(const std::string& dir);

}  // namespace talon::model
