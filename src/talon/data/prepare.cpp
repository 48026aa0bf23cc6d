#include "talon/data/prepare.h"

#include <fmt/ranges.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <variant>

#include <nlohmann/json.hpp>

#include "talon/data/pretokenized.h"
#include "talon/data/sample_builder.h"
#include "talon/data/vocab_mapping.h"
#include "talon/text/conversation.h"
#include "talon/util/error.h"
#include "talon/util/json_file.h"
#include "talon/util/mmap_file.h"
#include "talon/util/progress.h"
#include "talon/util/utf8.h"

namespace talon::data {

namespace {

constexpr std::size_t kChunkLines = 256;  // lines handed to the workers at a time

struct Line {
  std::size_t number;  // 1-based
  std::string_view text;
};

struct LineSample {
  TokenizedSample sample;
  bool pretokenized;
};

// A chunk result per line: the sample, why the line is invalid, or why its
// sample has nothing to learn.
using LineResult = std::variant<LineSample, std::string, DropCause>;

// How lines become samples: conversations through the builder, pre-tokenized
// lines checked against the target vocabulary; both then fit_to_length.
struct LineReader {
  const SampleBuilder& builder;
  std::int64_t vocab_size;
  std::size_t max_length;
};

DropCause drop_cause(const text::Conversation& conversation, const TokenizedSample& sample) {
  auto any = [&](text::Role role) {
    return std::any_of(conversation.begin(), conversation.end(), [&](const text::Message& m) { return m.role == role; });
  };
  if (!any(text::Role::User) && !any(text::Role::Assistant)) return DropCause::OnlySystemMessages;
  if (!any(text::Role::Assistant)) return DropCause::NoAssistantTurn;
  return sample.truncated ? DropCause::PastMaxLength : DropCause::EmptyReplies;
}

LineResult pretokenized_sample(const nlohmann::json& record, const LineReader& reader) {
  TokenizedSample sample = read_pretokenized(record, reader.vocab_size);
  const bool any_supervised = sample.supervised() > 0;
  fit_to_length(sample, reader.max_length);
  if (sample.supervised() > 0) return LineSample{std::move(sample), true};
  if (!any_supervised) return DropCause::PretokenizedNothingInLoss;
  return sample.truncated ? DropCause::PretokenizedPastMaxLength : DropCause::PretokenizedOnlyTheLastToken;
}

LineResult process_line(std::string_view line, const LineReader& reader) {
  if (std::size_t bad = util::find_invalid_utf8(line); bad != std::string_view::npos) {
    return fmt::format("not valid UTF-8 (byte {} of the line)", bad + 1);
  }
  try {
    const nlohmann::ordered_json record = util::parse_ordered_json(line, "");
    const nlohmann::json plain(record);  // converted once: the field readers take this form
    if (is_pretokenized(plain)) return pretokenized_sample(plain, reader);
    const text::Conversation conversation = text::parse_conversation(plain, record);
    const std::optional<nlohmann::ordered_json> tools = text::parse_tools(record);
    TokenizedSample sample = reader.builder.build(conversation, tools ? &*tools : nullptr);
    if (sample.supervised() == 0) return drop_cause(conversation, sample);
    return LineSample{std::move(sample), false};
  } catch (const Error& e) {
    return std::string(e.what());
  }
}

// Processes lines on `threads` threads; results come back in line order, so
// the output does not depend on the thread count.
std::vector<LineResult> process_chunk(const std::vector<Line>& lines, const LineReader& reader, int threads) {
  std::vector<LineResult> results(lines.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < lines.size();) results[i] = process_line(lines[i].text, reader);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return results;
}

std::uint64_t count_lines(std::string_view text) {
  std::uint64_t n = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    if (text.find_first_not_of(" \t\r", pos) < end) ++n;
    pos = end + 1;
  }
  return n;
}

std::string hex64(std::uint64_t v) { return fmt::format("{:016x}", v); }

}  // namespace

void LinesOfOneKind::add(const std::string& where) {
  if (count++ == 0) first = where;
}

std::uint64_t PrepareReport::dropped_unsupervised() const {
  std::uint64_t n = 0;
  for (const LinesOfOneKind& kind : dropped) n += kind.count;
  return n;
}

std::vector<std::string> PrepareReport::unused_lines(std::int64_t max_length) const {
  const std::array<std::string, kDropCauses> what = {
      "with only system messages",
      "without an assistant turn",
      fmt::format("whose assistant tokens all lie beyond --max-length {}", max_length),
      "whose assistant replies are empty",
      "pre-tokenized with no 1 in loss_mask",
      fmt::format("pre-tokenized whose supervised tokens all lie beyond --max-length {}", max_length),
      "pre-tokenized whose only supervised token is the last, which has no next token",
  };
  std::vector<std::string> out;
  for (std::size_t c = 0; c < kDropCauses; ++c) {
    if (dropped[c].count > 0) out.push_back(fmt::format("{} {} (first {})", dropped[c].count, what[c], dropped[c].first));
  }
  if (invalid.count > 0) out.push_back(fmt::format("{} skipped as invalid (first {})", invalid.count, invalid.first));
  return out;
}

DatasetProvenance make_provenance(const text::Tokenizer& tokenizer, const text::ChatTemplate& chat_template,
                                  const std::optional<std::string>& system_prompt, std::int64_t max_length,
                                  std::int64_t vocab_size) {
  // A Jinja template is identified by its sources, special tokens and
  // variables (rendering it could print today's date); a data template by
  // rendering a fixed conversation, which captures every string of it, so an
  // edited template file with the same name is still told apart. The markers
  // and supervised spans are part of it either way.
  std::string identity;
  if (chat_template.hf) {
    identity = chat_template.hf->fingerprint_text() + "\n" + chat_template.system_prompt.value_or("");
  } else {
    text::Conversation probe = {{text::Role::User, "Hello?", std::nullopt},
                                {text::Role::Assistant, "Hi.", std::nullopt},
                                {text::Role::User, "Bye.", std::nullopt},
                                {text::Role::Assistant, "Bye!", std::nullopt}};
    text::SupervisedText rendered =
        chat_template.render_supervised(text::with_system_prompt(probe, chat_template, system_prompt));
    identity = rendered.text;
    for (const auto& [begin, end] : rendered.spans) identity += fmt::format("\n{}-{}", begin, end);
  }
  identity += "\n" + chat_template.assistant_header + "\n" + chat_template.end_of_turn + "\n" +
              (chat_template.supervise_empty_think ? "think supervised" : "think unsupervised");
  DatasetProvenance p;
  p.tokenizer_fingerprint = hex64(tokenizer.fingerprint());
  p.vocab_size = vocab_size;
  p.chat_template = chat_template.name;
  p.chat_template_fingerprint = hex64(XXH64(identity.data(), identity.size(), 0));
  p.system_prompt_override = system_prompt;
  p.max_length = max_length;
  return p;
}

PrepareReport prepare_dataset(const PrepareOptions& options) {
  auto start = std::chrono::steady_clock::now();
  if (options.inputs.empty()) fail("no input files given");
  PreparedDatasetWriter writer(options.output_dir);  // first: refuses an output dir holding anything else
  text::Tokenizer tokenizer = text::Tokenizer::load(options.tokenizer_dir);
  text::ChatTemplate chat_template = text::resolve_template(options.chat_template, options.tokenizer_dir);
  std::int64_t vocab_size = options.vocab_size > 0 ? options.vocab_size : tokenizer.vocab_size();
  text::check_tokenizer_fits(tokenizer, vocab_size, "the target vocabulary");
  SampleBuilder builder(tokenizer, chat_template, options.system_prompt, options.max_length);
  const LineReader reader{builder, vocab_size, static_cast<std::size_t>(options.max_length)};
  int threads = options.num_threads > 0 ? options.num_threads
                                        : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  std::vector<util::MmapFile> files;
  std::uint64_t total_lines = 0;
  for (const auto& path : options.inputs) {
    files.emplace_back(path);
    total_lines += count_lines(files.back().view());
  }

  PrepareReport report;
  VocabCounter counter(vocab_size);
  nlohmann::json sources = nlohmann::json::array();
  std::optional<util::Progress> progress;
  if (options.show_progress) progress.emplace("prepare", total_lines, "samples");

  for (const auto& file : files) {
    std::string_view text = file.view();
    std::vector<Line> chunk;
    std::size_t pos = 0, number = 0;
    auto flush = [&] {
      std::vector<LineResult> results = process_chunk(chunk, reader, threads);
      for (std::size_t i = 0; i < chunk.size(); ++i) {
        auto where = [&] { return fmt::format("{}:{}", file.path(), chunk[i].number); };
        if (const auto* reason = std::get_if<std::string>(&results[i])) {
          if (!options.skip_invalid) fail("{}: {}", where(), *reason);
          report.invalid.add(where() + ": " + *reason);
          continue;
        }
        if (const auto* cause = std::get_if<DropCause>(&results[i])) {
          report.dropped[static_cast<std::size_t>(*cause)].add(where());
          continue;
        }
        const auto& [sample, pretokenized] = std::get<LineSample>(results[i]);
        const std::size_t supervised = sample.supervised();
        counter.add(sample.input_ids.data(), sample.loss_mask.data(), sample.input_ids.size());
        writer.append(sample);
        ++report.samples;
        report.pretokenized += pretokenized ? 1 : 0;
        report.tokens += sample.input_ids.size();
        report.supervised_tokens += supervised;
        report.truncated += sample.truncated ? 1 : 0;
      }
      report.lines += chunk.size();
      if (progress) progress->advance(chunk.size());
      chunk.clear();
    };
    while (pos < text.size()) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      std::string_view line = text.substr(pos, end - pos);
      ++number;
      pos = end + 1;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      chunk.push_back({number, line});
      if (chunk.size() == kChunkLines) flush();
    }
    flush();
    sources.push_back({{"path", file.path()}, {"lines", number}, {"xxh64", hex64(XXH64(text.data(), text.size(), 0))}});
  }
  if (progress) progress->finish();
  if (report.samples == 0) {
    const std::vector<std::string> unused = report.unused_lines(options.max_length);
    fail("no usable samples in the input ({} lines read): {}", report.lines,
         unused.empty() ? "it holds no non-blank line" : fmt::format("{}", fmt::join(unused, "; ")));
  }

  VocabMapping mapping = VocabMapping::build(counter, options.draft_vocab_size);
  mapping.save(writer.temp_path("vocab_mapping.safetensors"));
  report.draft_vocab_coverage = mapping.coverage;

  DatasetProvenance provenance =
      make_provenance(tokenizer, chat_template, options.system_prompt, options.max_length, vocab_size);
  if (report.pretokenized == report.samples) {  // no sample was rendered: the template shaped nothing
    provenance.chat_template.clear();
    provenance.chat_template_fingerprint.clear();
    provenance.system_prompt_override.reset();
  }
  nlohmann::json extra = {
      {"sources", sources},
      {"draft_vocab_size", options.draft_vocab_size},
      {"stats",
       {{"lines", report.lines},
        {"samples", report.samples},
        {"pretokenized_samples", report.pretokenized},
        {"tokens", report.tokens},
        {"supervised_tokens", report.supervised_tokens},
        {"truncated", report.truncated},
        {"skipped_invalid", report.invalid.count},
        {"dropped_unsupervised", report.dropped_unsupervised()},
        {"draft_vocab_coverage", report.draft_vocab_coverage}}}};
  writer.finish(provenance, extra);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

bool is_prepared_from(const PreparedDataset& dataset, const PrepareOptions& options,
                      const DatasetProvenance& expected) {
  const nlohmann::json& header = dataset.header();
  if (!dataset.differences(expected).empty()) return false;
  if (header.value("draft_vocab_size", std::int64_t{-1}) != options.draft_vocab_size) return false;
  const nlohmann::json sources = header.value("sources", nlohmann::json::array());
  if (sources.size() != options.inputs.size()) return false;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    util::MmapFile file(options.inputs[i]);
    std::string_view text = file.view();
    if (sources[i].value("path", "") != file.path() ||
        sources[i].value("xxh64", "") != hex64(XXH64(text.data(), text.size(), 0))) {
      return false;
    }
  }
  return true;
}

}  // namespace talon::data
