// `talon regenerate`'s job: read a conversation JSONL file, have each
// record's assistant turns rewritten (by the target model in this process,
// or by a chat server), and write the records in input order to a
// ResumableOutput. Rewriting runs on worker threads, each taking a group of
// records at a time (a batch for native generation, one record per request
// stream for a server). A record that fails goes to the failures file with
// its line number and the reason; the run goes on. With retry_failed, a
// second pass then asks again for the lines in the failures file.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace talon::regen {

struct Sample {
  std::int64_t line;              // 1-based line number in the input
  nlohmann::ordered_json record;  // keys in the input's order
};

// The rewritten record, or why there is none.
struct Outcome {
  nlohmann::ordered_json record;
  std::string error;  // empty on success
};

// Rewrites a group of samples; one outcome per sample, in order. May throw
// (every sample of the group then fails with the message).
using Rewriter = std::function<std::vector<Outcome>(const std::vector<Sample>&)>;

struct RegenerateSettings {
  std::string input, output;
  std::int64_t group = 1;    // samples per Rewriter call
  std::int64_t workers = 1;  // Rewriter calls at once
  std::int64_t limit = 0;    // input lines to cover in all (0: every line)
  // Once every line is covered, ask again for the failed ones: a new output
  // (OUT.retry, resumable like OUT) is written in input order, copying the
  // lines that succeeded, and then renamed over OUT, its failures file and
  // its progress file.
  bool retry_failed = false;
};

struct RegenerateReport {
  std::int64_t lines = 0;    // input lines covered, earlier runs included
  std::int64_t resumed = 0;  // of them, covered by earlier runs
  std::int64_t failed = 0;   // in the failures file, earlier runs included
  std::int64_t retried = 0;  // failed lines asked again (retry_failed)
  bool any_result = false;   // the output has a line
  std::string first_failure;  // "line N: reason" of the failures file's first line; empty without one
  double seconds = 0;         // this run
};

// A retry pass that a killed run had finished and begun to rename into
// place is completed first, whatever the settings.
RegenerateReport regenerate(const RegenerateSettings& settings, const Rewriter& rewrite);

}  // namespace talon::regen
