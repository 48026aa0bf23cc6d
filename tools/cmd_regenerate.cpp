// talon regenerate: rewrites the assistant turns of a conversation dataset
// with the target model, natively (batched generation with a KV cache) or
// through an OpenAI-compatible chat server (SGLang, vLLM), so the draft
// trains on the target's own distribution (docs/regenerate.md).
#include <fmt/format.h>

#include <cstdio>
#include <optional>

#include "chat_template_flags.h"
#include "commands.h"
#include "flag_range.h"
#include "talon/regen/chat_server.h"
#include "talon/regen/conversation_rewrite.h"
#include "talon/regen/native_rewriter.h"
#include "talon/regen/regenerate.h"
#include "talon/train/device.h"
#include "talon/util/error.h"
#include "weight_check_flag.h"

namespace talon::cli {
namespace {

struct RegenerateOptions {
  regen::RegenerateSettings run;
  std::string target_model_path, server_address, device = "cpu";
  text::ChatTemplateSettings chat_template;
  std::optional<std::string> system_prompt;
  regen::ChatSettings chat;
  double timeout_s = 600, backoff_s = 0.5;
  std::int64_t batch_size = 8, concurrency = 8;
  std::uint64_t seed = 0;
  model::WeightCheck target_weight_check = model::WeightCheck::Sampled;
};

// A chat server: one sample per call, its turns one request after another.
regen::Rewriter server_rewriter(const RegenerateOptions& o, const regen::ChatServer& server,
                                const text::ChatTemplate& chat_template) {
  return [&, o](const std::vector<regen::Sample>& samples) {
    std::vector<regen::Outcome> outcomes(samples.size());
    for (std::size_t i = 0; i < samples.size(); ++i) {
      try {
        regen::ConversationRewrite rewrite(samples[i].record);
        while (!rewrite.done()) {
          const text::Conversation prompt = text::with_system_prompt(rewrite.prompt(), chat_template, o.system_prompt);
          rewrite.add_reply(server.reply(regen::openai_messages(prompt), o.seed + samples[i].line));
        }
        outcomes[i].record = rewrite.result();
      } catch (const std::exception& e) {  // talon::Error, or nlohmann's on a record of mixed shapes
        outcomes[i].error = e.what();
      }
    }
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
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  cmd->add_option("--temperature", o->chat.temperature, "Sampling temperature (0: greedy)")
      ->check(flag_range("[0, 100]"))
      ->capture_default_str();
  cmd->add_option("--top-p", o->chat.top_p, "Nucleus sampling")->check(flag_range("(0, 1]"))->capture_default_str();
  cmd->add_option("--seed", o->seed, "Sampling seed (native: a stream per line and turn; server: seed + line)")
      ->check(flag_range("[0, 18446744073709551615]"))
      ->capture_default_str();
  add_chat_template_flags(*cmd, o->chat_template, false);
  cmd->add_option("--system-prompt", o->system_prompt, "System prompt for conversations without one ('' for none)");
  cmd->add_option("--num-samples", o->run.limit, "Cover the first N input lines (0: all)")
      ->check(flag_range("[0, inf)"))
      ->capture_default_str();
  cmd->add_flag("--retry-failed", o->run.retry_failed,
                "Once every line is covered, ask again for the lines in OUT.failed.jsonl (a rerun otherwise "
                "leaves them failed)");
  cmd->add_option("--batch-size", o->batch_size, "Native: conversations generated together")
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  cmd->add_option("--device", o->device, "Native: cpu or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--concurrency", o->concurrency, "Server: requests at once")
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  cmd->add_option("--request-timeout", o->timeout_s, "Server: seconds per request")
      ->check(flag_range("(0, inf)"))
      ->capture_default_str();
  cmd->add_option("--max-retries", o->chat.max_retries, "Server: retries of a failed request")
      ->check(flag_range("[0, inf)"))
      ->capture_default_str();
  cmd->add_option("--retry-backoff", o->backoff_s, "Server: seconds before the first retry, doubling after")
      ->check(flag_range("[0, inf)"))
      ->capture_default_str();

  cmd->callback([o] {
    if (o->target_model_path.empty() == o->server_address.empty()) {
      fail("regenerate: give --target-model-path (native) or --server-address (a chat server)");
    }
    o->chat.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(o->timeout_s * 1000));
    o->chat.backoff = std::chrono::milliseconds(static_cast<std::int64_t>(o->backoff_s * 1000));
    const text::ChatTemplate chat_template = text::resolve_template(o->chat_template, o->target_model_path);
    regen::RegenerateReport report;
    if (!o->server_address.empty()) {
      try {
        regen::Url::parse(o->server_address);
      } catch (const Error& e) {
        fail("regenerate: --server-address {}", e.what());
      }
      const regen::ChatServer chat_server(o->server_address, o->chat);
      o->run.workers = o->concurrency;
      report = regen::regenerate(o->run, server_rewriter(*o, chat_server, chat_template));
    } else {
      const at::Device device = train::parse_device(o->device, 0);
      const model::TargetModel target =
          model::TargetModel::load(o->target_model_path, device, train::compute_dtype(device), {}, o->target_weight_check);
      const text::Tokenizer tokenizer = text::Tokenizer::load(o->target_model_path);
      text::check_tokenizer_fits(tokenizer, target.config().vocab_size, o->target_model_path + "/config.json");
      o->run.group = o->batch_size;
      const regen::NativeSettings native{o->chat.max_tokens, {o->chat.temperature, o->chat.top_p}, o->seed,
                                         o->system_prompt};
      report = regen::regenerate(o->run, regen::native_rewriter(target, tokenizer, chat_template, native));
    }
    fmt::print("regenerate: {} lines covered ({} by earlier runs), {}{} failed{}; output {}\n", report.lines,
               report.resumed, report.retried > 0 ? fmt::format("{} failed lines asked again, ", report.retried) : "",
               report.failed, report.failed > 0 ? fmt::format(" (see {}.failed.jsonl)", o->run.output) : "",
               o->run.output);
    std::fflush(stdout);  // the summary before the failure, on a pipe too
    if (report.failed > 0 && !report.any_result) {
      fail("regenerate: no line succeeded; the first failure: {} (--retry-failed asks again)", report.first_failure);
    }
    if (report.failed > 0) fmt::print(stderr, "regenerate: the first failure: {}\n", report.first_failure);
  });
}

}  // namespace talon::cli
