// Rewriting with the target in this process: every waiting turn of a group
// of conversations generated as one batch, turn after turn, each
// conversation keeping its KV cache and its prompt's encoding between
// turns (eval::ContinuedGeneration, text::IncrementalEncoding), so a
// conversation of many turns costs its length once rather than once per turn.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "talon/eval/generate.h"
#include "talon/model/target_model.h"
#include "talon/regen/regenerate.h"
#include "talon/text/chat_template.h"
#include "talon/text/tokenizer.h"

namespace talon::regen {

struct NativeSettings {
  std::int64_t max_new_tokens = 4096;  // per reply
  eval::Sampling sampling;
  std::uint64_t seed = 0;  // each line and turn draws from its own stream of it
  std::optional<std::string> system_prompt;
};

// A reply ends at the template's end-of-turn token, which is not part of
// the text. A line fails before its first turn when its last prompt, with
// every reply empty, leaves no position for a reply; and later (naming the
// turn and the token counts) when a prompt, or a prompt and its reply
// before its end of turn, fills the target's max_position_embeddings. The
// target, tokenizer and template must outlive the rewriter.
Rewriter native_rewriter(const model::TargetModel& target, const text::Tokenizer& tokenizer,
                         const text::ChatTemplate& chat_template, const NativeSettings& settings);

}  // namespace talon::regen
