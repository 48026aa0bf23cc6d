// talon: trains EAGLE-3 draft models. `talon <command> --help` documents
// every flag of every command.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <exception>

#include "commands.h"
#include "talon/util/error.h"

int main(int argc, char** argv) {
  CLI::App app{"Talon: trains EAGLE-3 speculative-decoding draft models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "talon 0.1.0");
  talon::cli::add_tokenize_commands(app);
  talon::cli::add_prepare_command(app);
  talon::cli::add_init_target_command(app);
  talon::cli::add_cache_command(app);
  talon::cli::add_train_command(app);
  talon::cli::add_launch_command(app);
  talon::cli::add_eval_command(app);
  talon::cli::add_regenerate_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const talon::Error& e) {
    fmt::print(stderr, "talon: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "talon: internal error: {}\n", e.what());
    return 2;
  }
  return 0;
}
