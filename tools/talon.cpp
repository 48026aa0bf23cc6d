// talon: trains EAGLE-3 draft models. `talon <command> --help` documents
// every flag of every command.
#include <fmt/format.h>

#include <torch/version.h>
#if TALON_MIMALLOC
#include <mimalloc.h>
#endif

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <exception>
#include <string>

#include "commands.h"
#include "talon/util/error.h"

namespace {

// Talon's version and what this binary was built with (tools/CMakeLists.txt).
std::string version() {
  std::string text = fmt::format("talon {}\nlibtorch {}\n", TALON_VERSION, TORCH_VERSION);
  if (TALON_HAS_CUDA_KERNELS) {
    text += fmt::format("CUDA: compiled in (toolkit {}, architectures {})\n", TALON_CUDA_TOOLKIT,
                        TALON_CUDA_ARCHITECTURES);
  } else {
    text += "CUDA: not compiled in\n";
  }
  text += TALON_HAS_NCCL ? "NCCL: compiled in\n" : "NCCL: not compiled in\n";
#if TALON_MIMALLOC
  // Whether mimalloc really serves malloc in this process (cmake/allocator.cmake).
  void* probe = std::malloc(64);
  const bool mimalloc = mi_is_in_heap_region(probe);
  std::free(probe);
  const int v = mi_version();
  if (mimalloc) return text + fmt::format("allocator: mimalloc {}.{}.{}", v / 100, v / 10 % 10, v % 10);
#endif
  return text + "allocator: the C library's malloc";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Talon: trains EAGLE-3 speculative-decoding draft models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", version);
  talon::cli::add_tokenize_commands(app);
  talon::cli::add_prepare_command(app);
  talon::cli::add_init_target_command(app);
  talon::cli::add_cache_command(app);
  talon::cli::add_train_command(app);
  talon::cli::add_launch_command(app);
  talon::cli::add_eval_command(app);
  talon::cli::add_check_draft_command(app);
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
