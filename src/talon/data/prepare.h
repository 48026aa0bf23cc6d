// `talon prepare`: conversations or pre-tokenized lines (JSONL) -> tokenized
// dataset + vocab mapping.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "talon/data/prepared_dataset.h"
#include "talon/text/chat_template.h"
#include "talon/text/tokenizer.h"

namespace talon::data {

struct PrepareOptions {
  std::vector<std::string> inputs;  // JSONL files, read in this order
  std::string output_dir;
  std::string tokenizer_dir;
  std::int64_t vocab_size = 0;      // target vocabulary (t2d length); 0 = the tokenizer's. Pre-tokenized ids lie in it
  text::ChatTemplateSettings chat_template;  // pre-tokenized lines ignore it
  std::optional<std::string> system_prompt;  // nullopt = template default, "" = none
  std::int64_t max_length = 2048;
  std::int64_t draft_vocab_size = 32000;
  bool skip_invalid = false;        // count bad lines instead of stopping
  int num_threads = 0;              // 0 = all cores
  bool show_progress = true;
};

// Why a valid line gave no sample: nothing in it is in the loss.
enum class DropCause {
  OnlySystemMessages,
  NoAssistantTurn,
  PastMaxLength,  // every assistant token lies beyond max_length
  EmptyReplies,   // an empty last reply supervises only the final token, which has no next one
  // The same for pre-tokenized lines:
  PretokenizedNothingInLoss,     // loss_mask holds no 1
  PretokenizedPastMaxLength,     // every 1 lies beyond max_length
  PretokenizedOnlyTheLastToken,  // the only 1 is on the final token, which has no next one
};
inline constexpr std::size_t kDropCauses = 7;

struct LinesOfOneKind {
  std::uint64_t count = 0;
  std::string first;  // "file:line" of the first (for invalid lines, ": reason" follows)
  void add(const std::string& where);
};

struct PrepareReport {
  std::uint64_t lines = 0;          // non-blank input lines
  std::uint64_t samples = 0;        // written
  std::uint64_t pretokenized = 0;   // of them, from pre-tokenized lines
  std::uint64_t tokens = 0;
  std::uint64_t supervised_tokens = 0;
  std::uint64_t truncated = 0;
  LinesOfOneKind invalid;           // skipped with skip_invalid
  std::array<LinesOfOneKind, kDropCauses> dropped;  // indexed by DropCause
  double draft_vocab_coverage = 0;
  double seconds = 0;               // the whole job, tokenizer loading included

  std::uint64_t dropped_unsupervised() const;  // over every cause
  // One phrase per kind of line that gave no sample, with its count and
  // first line, e.g. "2 without an assistant turn (first a.jsonl:3)":
  // what `talon prepare` prints, and why a run found no usable sample.
  std::vector<std::string> unused_lines(std::int64_t max_length) const;
};

PrepareReport prepare_dataset(const PrepareOptions& options);

// What a dataset made with these settings records; training builds the same
// and compares (PreparedDataset::check_compatible). A dataset whose samples
// all came pre-tokenized records no template (DatasetProvenance::rendered).
DatasetProvenance make_provenance(const text::Tokenizer& tokenizer, const text::ChatTemplate& chat_template,
                                  const std::optional<std::string>& system_prompt, std::int64_t max_length,
                                  std::int64_t vocab_size);

// Whether `dataset` was prepared from exactly options.inputs (same paths and
// bytes), options.draft_vocab_size and the `expected` settings, so that a
// run can reuse it instead of preparing again.
bool is_prepared_from(const PreparedDataset& dataset, const PrepareOptions& options,
                      const DatasetProvenance& expected);

}  // namespace talon::data
