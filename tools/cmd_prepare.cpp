// talon prepare: conversations or pre-tokenized lines (JSONL) -> tokenized
// dataset + vocab mapping.
#include <fmt/format.h>

#include <optional>

#include "chat_template_flags.h"
#include "commands.h"
#include "flag_range.h"
#include "talon/data/prepare.h"
#include "talon/io/hf_config.h"

namespace talon::cli {

void add_prepare_command(CLI::App& app) {
  auto options = std::make_shared<data::PrepareOptions>();
  auto target_model = std::make_shared<std::string>();
  auto system_prompt = std::make_shared<std::optional<std::string>>();
  auto quiet = std::make_shared<bool>(false);

  CLI::App* cmd = app.add_subcommand(
      "prepare", "Tokenize conversations (or take pre-tokenized lines) into a training dataset and a draft vocabulary");
  cmd->add_option("--train-data-path", options->inputs,
                  "JSONL files; each line a conversation (ShareGPT or OpenAI shape) or pre-tokenized "
                  "({\"input_ids\": [...], \"loss_mask\": [0/1...]}, as SpecForge reads)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--output-dir", options->output_dir,
                  "Directory to write: absent, empty, or an earlier prepare output, replaced atomically")
      ->required();
  auto* model_opt = cmd->add_option("--target-model-path", *target_model,
                                    "Target model directory: tokenizer files and config.json (vocab_size)");
  auto* tok_opt = cmd->add_option("--tokenizer", options->tokenizer_dir,
                                  "Tokenizer directory (tokenizer.json), when no target model is given");
  model_opt->excludes(tok_opt);
  cmd->add_option("--vocab-size", options->vocab_size,
                  "Target vocabulary size (length of t2d; pre-tokenized ids must lie below it); default: "
                  "config.json, else the tokenizer's")
      ->check(flag_range("[1, inf)"));
  add_chat_template_flags(*cmd, options->chat_template, true);
  cmd->add_option("--max-length", options->max_length, "Keep the first N tokens of each sample (pre-tokenized too)")
      ->check(flag_range("[2, inf)"))
      ->capture_default_str();
  cmd->add_option("--draft-vocab-size", options->draft_vocab_size, "Draft vocabulary size Vd")
      ->check(flag_range("[1, inf)"))
      ->capture_default_str();
  cmd->add_option("--system-prompt", *system_prompt,
                  "System prompt for conversations without one ('' for none; default: the template's)");
  cmd->add_flag("--skip-invalid", options->skip_invalid,
                "Skip and count malformed lines (bad JSON, a key given twice, nesting deeper than 512 levels, "
                "a bad conversation or pre-tokenized line) instead of stopping");
  cmd->add_option("--num-threads", options->num_threads, "Worker threads (0 = all cores)")
      ->check(flag_range("[0, inf)"))
      ->capture_default_str();
  cmd->add_flag("--quiet", *quiet, "No progress bar");

  cmd->callback([=] {
    data::PrepareOptions opts = *options;
    if (!target_model->empty()) {
      opts.tokenizer_dir = *target_model;
      if (opts.vocab_size == 0) opts.vocab_size = io::load_target_config(*target_model + "/config.json").vocab_size;
    } else if (opts.tokenizer_dir.empty()) {
      throw CLI::RequiredError("--target-model-path or --tokenizer");
    }
    opts.system_prompt = *system_prompt;
    opts.show_progress = !*quiet;
    data::PrepareReport r = data::prepare_dataset(opts);

    double share = r.tokens > 0 ? 100.0 * r.supervised_tokens / r.tokens : 0.0;
    fmt::print("prepared {} samples from {} lines -> {}\n", r.samples, r.lines, opts.output_dir);
    fmt::print("  pre-tokenized samples: {}\n", r.pretokenized);
    fmt::print("  tokens {} ({} in the loss, {:.1f}%)\n", r.tokens, r.supervised_tokens, share);
    fmt::print("  truncated to {} tokens: {}\n", opts.max_length, r.truncated);
    fmt::print("  lines without a sample: {}\n", r.invalid.count + r.dropped_unsupervised());
    for (const std::string& kind : r.unused_lines(opts.max_length)) fmt::print("    {}\n", kind);
    fmt::print("  draft vocabulary {} covers {:.2f}% of supervised tokens\n", opts.draft_vocab_size,
               100.0 * r.draft_vocab_coverage);
    fmt::print("  {:.2f} s in all, tokenizer loading included ({:.0f} samples/s)\n", r.seconds,
               r.seconds > 0 ? r.lines / r.seconds : 0.0);
  });
}

}  // namespace talon::cli
