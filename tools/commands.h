// Each subcommand registers itself on the root CLI11 app. The callback runs
// the command; it throws talon::Error for user-facing failures.
#pragma once

#include <CLI/CLI.hpp>

namespace talon::cli {

void add_tokenize_commands(CLI::App& app);  // tokenize, detokenize
void add_prepare_command(CLI::App& app);
void add_init_target_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_cache_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_check_draft_command(CLI::App& app);
void add_regenerate_command(CLI::App& app);
void add_launch_command(CLI::App& app);

}  // namespace talon::cli
