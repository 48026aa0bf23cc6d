// The draft directory SGLang and vLLM load as an EAGLE-3 draft (brief §3):
//   config.json        io::to_json(DraftConfig)
//   model.safetensors  the trainable tensors under their checkpoint names,
//                      BF16, plus d2t (I64 [Vd]) and t2d (BOOL [V]).
// embed_tokens is not saved: the server shares the target's.
#pragma once

#include <optional>
#include <string>

#include "talon/model/eagle3/eagle3_draft.h"
#include "talon/model/target_distribution.h"
#include "talon/model/weight_check.h"

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
  at::Tensor d2t, t2d;      // as stored; undefined when the draft has none (data::VocabMapping::of_draft)
  std::string weights;      // the file read, or the index of the shards: for messages
};

// Where a draft without draft_vocab_size in its config.json takes its
// lm_head: SGLang then serves the target's (load_lm_head_from_target), and
// so do `talon eval` and `--init-draft`.
struct TargetLmHead {
  std::string target_model_path;
  at::ScalarType dtype;  // read in this dtype, the draft's
  WeightCheck check = WeightCheck::Sampled;
};

// Throws talon::Error naming each file of dir that does not match its
// .talon-output.json (util::damaged_files); a directory without one (a
// SpecForge or Hugging Face draft) passes unverified.
void check_draft_checkpoint_intact(const std::string& dir);

// Reads a draft directory, after check_draft_checkpoint_intact: Talon's,
// SpecForge's, AngelSlim's and the EAGLE authors' (docs/checkpoints.md,
// "Drafts Talon reads"). The weights are model.safetensors, shards listed by
// model.safetensors.index.json, or pytorch_model.bin (torch.save's zip).
// d2t/t2d are returned as stored, for data::VocabMapping::of_draft to
// validate; an `embed_tokens.weight` is ignored (the embedding always comes
// from the target), and so is the `lm_head.weight` of a draft without
// draft_vocab_size, whose lm_head is the target's (`target`, required
// then); any other unknown tensor is an error naming it, and so is a draft
// tensor missing or shaped otherwise than config.json says (checked before
// any draft is built, so a wrong size cannot become an allocation).
DraftCheckpoint load_draft_checkpoint(const std::string& dir,
                                      const std::optional<TargetLmHead>& target = std::nullopt);

}  // namespace talon::model
