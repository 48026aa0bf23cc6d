// talon regenerate: rewrites the assistant turns of a conversation dataset
// with the target model, natively (batched generation with a KV cache) or
// through an OpenAI-compatible chat server (SGLang, vLLM), so the draft
// trains on the target's own distribution (docs/regenerate.md).
#include <fmt/format.h>

#include <optional>

#include "commands.h"
#include "talon/eval/generate.h"
#include "talon/eval/prompts.h"
#include "talon/regen/chat_server.h"
#include "talon/regen/conversation_rewrite.h"
#include "talon/regen/regenerate.h"
#include "talon/train/device.h"
#include "talon/util/error.h"
#include "weight_check_flag.h"

namespace talon::cli {
namespace {

struct RegenerateOptions {
  regen::RegenerateSettings run;
  std::string target_model_path, server_address, chat_template = "llama3", device = "cpu";
  std::optional<std::string> system_prompt;
  regen::ChatSettings chat;
  double timeout_s = 600, backoff_s = 0.5;
  std::int64_t batch_size = 8, concurrency = 8;
  std::uint64_t seed = 0;
  model::WeightCheck target_weight_check = model::WeightCheck::Sampled;
};

// A per-(seed, line, turn) stream, so the random numbers a sample draws do
// not depend on the batch it ran in or on a resume (splitmix64's finaliser).
std::uint64_t mix(std::uint64_t seed, std::int64_t line, std::int64_t turn) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(line * 1024 + turn + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Builds each sample's rewrite; a record that cannot be rewritten fails alone.
std::vector<std::optional<regen::ConversationRewrite>> start_rewrites(const std::vector<regen::Sample>& samples,
                                                                      std::vector<regen::Outcome>& outcomes) {
  std::vector<std::optional<regen::ConversationRewrite>> rewrites(samples.size());
  outcomes.assign(samples.size(), {});
  for (std::size_t i = 0; i < samples.size(); ++i) {
    try {
      rewrites[i].emplace(samples[i].record);
    } catch (const std::exception& e) {  // talon::Error, or nlohmann's on a record of mixed shapes
      outcomes[i].error = e.what();
    }
  }
  return rewrites;
}

void finish_rewrites(std::vector<std::optional<regen::ConversationRewrite>>& rewrites,
                     std::vector<regen::Outcome>& outcomes) {
  for (std::size_t i = 0; i < rewrites.size(); ++i) {
    if (rewrites[i] && outcomes[i].error.empty()) outcomes[i].record = rewrites[i]->result();
  }
}

// The target in this process: every waiting turn of the group generated as
// one batch, turn after turn.
regen::Rewriter native_rewriter(const RegenerateOptions& o, const model::TargetModel& target,
                                const text::Tokenizer& tokenizer, const text::ChatTemplate& chat_template) {
  const eval::GenerationLimits limits{o.chat.max_tokens, {eval::end_of_turn_id(tokenizer, chat_template)}};
  const eval::Sampling sampling{o.chat.temperature, o.chat.top_p};
  return [&, limits, sampling, o](const std::vector<regen::Sample>& samples) {
    std::vector<regen::Outcome> outcomes;
    auto rewrites = start_rewrites(samples, outcomes);
    for (std::int64_t turn = 0;; ++turn) {
      std::vector<std::size_t> waiting;
      std::vector<eval::Tokens> prompts;
      std::vector<std::uint64_t> seeds;
      for (std::size_t i = 0; i < samples.size(); ++i) {
        if (!rewrites[i] || rewrites[i]->done() || !outcomes[i].error.empty()) continue;
        try {
          prompts.push_back(eval::render_prompt(rewrites[i]->prompt(), tokenizer, chat_template, o.system_prompt));
        } catch (const Error& e) {
          outcomes[i].error = e.what();
          continue;
        }
        waiting.push_back(i);
        seeds.push_back(mix(o.seed, samples[i].line, turn));
      }
      if (waiting.empty()) break;
      const std::vector<eval::Tokens> replies = eval::generate(target, prompts, limits, sampling, seeds);
      for (std::size_t j = 0; j < waiting.size(); ++j) {
        std::vector<std::int32_t> ids(replies[j].begin(), replies[j].end());
        if (!ids.empty() && ids.back() == limits.stop_ids.front()) ids.pop_back();
        rewrites[waiting[j]]->add_reply(tokenizer.decode(ids));
      }
    }
    finish_rewrites(rewrites, outcomes);
    return outcomes;
  };
}

// A chat server: one sample per call, its turns one request after another.
regen::Rewriter server_rewriter(const RegenerateOptions& o, const regen::ChatServer& server,
                                const text::ChatTemplate& chat_template) {
  return [&, o](const std::vector<regen::Sample>& samples) {
    std::vector<regen::Outcome> outcomes;
    auto rewrites = start_rewrites(samples, outcomes);
    for (std::size_t i = 0; i < samples.size(); ++i) {
      try {
        while (rewrites[i] && !rewrites[i]->done()) {
          const text::Conversation prompt =
              text::with_system_prompt(rewrites[i]->prompt(), chat_template, o.system_prompt);
          rewrites[i]->add_reply(server.reply(regen::openai_messages(prompt), o.seed + samples[i].line));
        }
      } catch (const Error& e) {
        outcomes[i].error = e.what();
      }
    }
    finish_rewrites(rewrites, outcomes);
    return outcomes;
  };
}

}  // namespace

void add_regenerate_command(CLI::App& app) {
  auto o = std::make_shared<RegenerateOptions>();
  CLI::App* cmd = app.add_subcommand("regenerate", "Rewrite a dataset's assistant turns with the target model");
  cmd->add_option("--input-file-path", o->run.input, "Conversation JSONL (ShareGPT or OpenAI shape)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--output-file-path", o->run.output, "JSONL to write; a rerun resumes it")->required();
  auto* native = cmd->add_option("--target-model-path", o->target_model_path, "Generate with this target model")
                     ->check(CLI::ExistingDirectory);
  auto* server = cmd->add_option("--server-address", o->server_address,
                                 "Or ask this OpenAI-compatible server: [http://]host[:port][/v1]");
  native->excludes(server);
  add_weight_check_flag(*cmd, o->target_weight_check);
  cmd->add_option("--model", o->chat.model, "The model name sent to the server")->capture_default_str();
  cmd->add_option("--max-new-tokens,--max-tokens", o->chat.max_tokens, "Tokens per reply, at most")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--temperature", o->chat.temperature, "Sampling temperature (0: greedy)")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  cmd->add_option("--top-p", o->chat.top_p, "Nucleus sampling")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  cmd->add_option("--seed", o->seed, "Sampling seed (native: a stream per line and turn; server: seed + line)")
      ->capture_default_str();
  cmd->add_option("--chat-template", o->chat_template, "Template name or .json file")->capture_default_str();
  cmd->add_option("--system-prompt", o->system_prompt, "System prompt for conversations without one ('' for none)");
  cmd->add_option("--num-samples", o->run.limit, "Cover the first N input lines (0: all)")->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "Native: conversations generated together")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--device", o->device, "Native: cpu or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--concurrency", o->concurrency, "Server: requests at once")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--request-timeout", o->timeout_s, "Server: seconds per request")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-retries", o->chat.max_retries, "Server: retries of a failed request")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--retry-backoff", o->backoff_s, "Server: seconds before the first retry, doubling after")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();

  cmd->callback([o] {
    if (o->chat.top_p <= 0) fail("regenerate: --top-p must be in (0, 1], found {}", o->chat.top_p);
    if (o->target_model_path.empty() == o->server_address.empty()) {
      fail("regenerate: give --target-model-path (native) or --server-address (a chat server)");
    }
    o->chat.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(o->timeout_s * 1000));
    o->chat.backoff = std::chrono::milliseconds(static_cast<std::int64_t>(o->backoff_s * 1000));
    const text::ChatTemplate chat_template = text::resolve_template(o->chat_template);
    regen::RegenerateReport report;
    if (!o->server_address.empty()) {
      const regen::ChatServer chat_server(o->server_address, o->chat);
      o->run.workers = o->concurrency;
      report = regen::regenerate(o->run, server_rewriter(*o, chat_server, chat_template));
    } else {
      const at::Device device = train::parse_device(o->device, 0);
      const model::TargetModel target =
          model::TargetModel::load(o->target_model_path, device, train::compute_dtype(device), {}, o->target_weight_check);
      const text::Tokenizer tokenizer = text::Tokenizer::load(o->target_model_path);
      o->run.group = o->batch_size;
      report = regen::regenerate(o->run, native_rewriter(*o, target, tokenizer, chat_template));
    }
    fmt::print("regenerate: {} lines covered ({} by earlier runs), {} failed{}; output {}\n", report.lines,
               report.resumed, report.failed,
               report.failed > 0 ? fmt::format(" (see {}.failed.jsonl)", o->run.output) : "", o->run.output);
  });
}

}  // namespace talon::cli
