#include "talon/regen/native_rewriter.h"

#include <memory>

#include "talon/eval/prompts.h"
#include "talon/regen/conversation_rewrite.h"
#include "talon/text/incremental_encoding.h"
#include "talon/util/error.h"

namespace talon::regen {
namespace {

// One conversation being rewritten: the rewrite, the conversation as the
// template sees it (with the system prompt), grown turn by turn, and the
// encoding of its rendering.
class Dialogue {
 public:
  Dialogue(const nlohmann::ordered_json& record, const text::Tokenizer& tokenizer)
      : rewrite_(record), encoding_(tokenizer) {}

  ConversationRewrite& rewrite() { return rewrite_; }

  // The prompt for the waiting turn, rendered as eval::render_prompt
  // renders it.
  eval::Tokens prompt(const text::ChatTemplate& chat_template, const std::optional<std::string>& system_prompt) {
    const text::Conversation& so_far = rewrite_.prompt();
    if (shown_.empty()) {
      shown_ = text::with_system_prompt(so_far, chat_template, system_prompt);
    } else {
      shown_.insert(shown_.end(), so_far.begin() + static_cast<std::ptrdiff_t>(copied_), so_far.end());
    }
    copied_ = so_far.size();
    const std::vector<std::int32_t>& ids =
        encoding_.encode(chat_template.render_generation_prompt(shown_));
    return {ids.begin(), ids.end()};
  }

 private:
  ConversationRewrite rewrite_;
  text::Conversation shown_;
  std::size_t copied_ = 0;  // messages of rewrite_.prompt() in shown_
  text::IncrementalEncoding encoding_;
};

// A per-(seed, line, turn) stream, so the random numbers a sample draws do
// not depend on the batch it ran in or on a resume (splitmix64's finaliser).
std::uint64_t mix(std::uint64_t seed, std::int64_t line, std::int64_t turn) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(line * 1024 + turn + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Fails a conversation that cannot fit before its first turn is generated:
// otherwise one of many turns would be found too long only after
// generating all the replies before it.
void fail_if_beyond_context(const ConversationRewrite& rewrite, const text::Tokenizer& tokenizer,
                            const text::ChatTemplate& chat_template, const std::optional<std::string>& system_prompt,
                            std::int64_t context) {
  const auto last_prompt = static_cast<std::int64_t>(
      eval::render_prompt(rewrite.last_prompt_with_empty_replies(), tokenizer, chat_template, system_prompt).size());
  // The last reply needs one position at least, for its end of turn.
  if (last_prompt + 1 > context) {
    fail("the conversation's {} turns need at least {} positions without their replies, more than the target's "
         "max_position_embeddings {}",
         rewrite.user_turns(), last_prompt + 1, context);
  }
}

}  // namespace

Rewriter native_rewriter(const model::TargetModel& target, const text::Tokenizer& tokenizer,
                         const text::ChatTemplate& chat_template, const NativeSettings& settings) {
  const std::int64_t stop = eval::end_of_turn_id(tokenizer, chat_template);
  const eval::GenerationLimits limits{settings.max_new_tokens, {stop}};
  const std::int64_t context = target.config().max_position_embeddings;
  return [&target, &tokenizer, &chat_template, settings, limits, stop,
          context](const std::vector<Sample>& samples) {
    std::vector<Outcome> outcomes(samples.size());
    std::vector<std::unique_ptr<Dialogue>> dialogues(samples.size());
    for (std::size_t i = 0; i < samples.size(); ++i) {
      try {
        dialogues[i] = std::make_unique<Dialogue>(samples[i].record, tokenizer);
        fail_if_beyond_context(dialogues[i]->rewrite(), tokenizer, chat_template, settings.system_prompt, context);
      } catch (const std::exception& e) {  // talon::Error, or nlohmann's on a record of mixed shapes
        outcomes[i].error = e.what();
      }
    }
    eval::ContinuedGeneration generation(target, static_cast<std::int64_t>(samples.size()));
    for (std::int64_t turn = 0;; ++turn) {
      std::vector<std::int64_t> going;
      std::vector<eval::Tokens> prompts;
      std::vector<bool> last;
      std::vector<std::uint64_t> seeds;
      for (std::size_t i = 0; i < samples.size(); ++i) {
        if (!dialogues[i] || dialogues[i]->rewrite().done() || !outcomes[i].error.empty()) continue;
        try {
          eval::Tokens prompt = dialogues[i]->prompt(chat_template, settings.system_prompt);
          if (static_cast<std::int64_t>(prompt.size()) >= context) {
            fail("turn {}: the prompt is {} tokens, the target's max_position_embeddings {} leaves no room for a "
                 "reply",
                 turn + 1, prompt.size(), context);
          }
          prompts.push_back(std::move(prompt));
        } catch (const Error& e) {
          outcomes[i].error = e.what();
          continue;
        }
        going.push_back(static_cast<std::int64_t>(i));
        last.push_back(dialogues[i]->rewrite().last_turn());
        seeds.push_back(mix(settings.seed, samples[i].line, turn));
      }
      if (going.empty()) break;
      const std::vector<eval::Tokens> replies =
          generation.reply(going, prompts, last, limits, settings.sampling, seeds);
      for (std::size_t j = 0; j < going.size(); ++j) {
        std::vector<std::int32_t> ids(replies[j].begin(), replies[j].end());
        const bool ended = !ids.empty() && ids.back() == stop;
        const auto length = static_cast<std::int64_t>(prompts[j].size() + ids.size());
        if (!ended && length >= context) {
          outcomes[static_cast<std::size_t>(going[j])].error =
              fmt::format("turn {}: the prompt ({} tokens) and the reply reach the target's max_position_embeddings "
                          "{} before the reply's end of turn",
                          turn + 1, prompts[j].size(), context);
          continue;
        }
        if (ended) ids.pop_back();
        dialogues[static_cast<std::size_t>(going[j])]->rewrite().add_reply(tokenizer.decode(ids));
      }
    }
    for (std::size_t i = 0; i < samples.size(); ++i) {
      if (dialogues[i] && outcomes[i].error.empty()) outcomes[i].record = dialogues[i]->rewrite().result();
    }
    return outcomes;
  };
}

}  // namespace talon::regen
