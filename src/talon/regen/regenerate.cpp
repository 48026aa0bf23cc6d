#include "talon/regen/regenerate.h"

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "talon/regen/resumable_output.h"
#include "talon/util/atomic_file.h"
#include "talon/util/error.h"
#include "talon/util/json_file.h"
#include "talon/util/progress.h"

namespace talon::regen {
namespace {

std::int64_t count_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open", path);
  std::int64_t lines = 0;
  std::string line;
  while (std::getline(in, line)) ++lines;
  return lines;
}

// What a line turned into, before it is written.
struct Done {
  bool blank = false;
  Outcome outcome;
  std::string source;  // the input line, for the failures file
};

// Hands out input lines in order and writes their outcomes in the same
// order, however the workers finish. Workers wait rather than read too far
// past the oldest unfinished line, so a stalled one holds back a bounded
// number of finished ones.
class Pipeline {
 public:
  Pipeline(const RegenerateSettings& settings, ResumableOutput& output, std::int64_t total, util::Progress& progress)
      : settings_(settings),
        output_(output),
        in_(settings.input, std::ios::binary),
        end_(total),
        next_read_(output.lines_done() + 1),
        next_write_(next_read_),
        progress_(progress),
        max_ahead_(std::max<std::int64_t>(1024, 16 * settings.workers * settings.group)) {
    std::string skipped;
    for (std::int64_t i = 1; i < next_read_ && std::getline(in_, skipped); ++i) {
    }
  }

  // The next group of lines (number, text), empty when the input is used up.
  std::vector<std::pair<std::int64_t, std::string>> take() {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return next_read_ - next_write_ < max_ahead_ || failure_; });
    std::vector<std::pair<std::int64_t, std::string>> lines;
    std::string line;
    while (!failure_ && static_cast<std::int64_t>(lines.size()) < settings_.group && next_read_ <= end_ &&
           std::getline(in_, line)) {
      lines.emplace_back(next_read_++, line);
    }
    return lines;
  }

  void finish(std::int64_t line, Done done) {
    std::lock_guard lock(mutex_);
    if (failure_) return;  // the output is broken; nothing more is written
    finished_.emplace(line, std::move(done));
    std::int64_t written = 0;
    for (auto it = finished_.find(next_write_); it != finished_.end(); it = finished_.find(next_write_)) {
      const Done& d = it->second;
      if (d.blank) {
        output_.add_nothing();
      } else if (d.outcome.error.empty()) {
        output_.add_result(d.outcome.record.dump());
      } else {
        // replace: a line that is not valid UTF-8 is a failure to record, not a crash.
        const nlohmann::json failure = {{"line", it->first}, {"error", d.outcome.error}, {"input", d.source}};
        output_.add_failure(failure.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }
      finished_.erase(it);
      ++next_write_;
      ++written;
    }
    if (written == 0) return;
    try {
      output_.sync();
    } catch (...) {
      failure_ = true;  // every worker stops: take() hands out nothing more
      room_.notify_all();
      throw;
    }
    progress_.advance(static_cast<std::uint64_t>(written));
    progress_.set_suffix(fmt::format("{} failed", output_.failed()));
    room_.notify_all();
  }

 private:
  const RegenerateSettings& settings_;
  ResumableOutput& output_;
  std::ifstream in_;
  std::int64_t end_, next_read_, next_write_;
  util::Progress& progress_;
  std::int64_t max_ahead_;
  std::map<std::int64_t, Done> finished_;
  std::mutex mutex_;
  std::condition_variable room_;
  bool failure_ = false;
};

bool is_blank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

void work(Pipeline& pipeline, const Rewriter& rewrite) {
  while (true) {
    const auto lines = pipeline.take();
    if (lines.empty()) return;
    std::vector<Sample> samples;
    std::vector<std::string> sources;
    for (const auto& [number, text] : lines) {
      if (is_blank(text)) {
        pipeline.finish(number, {true, {}, {}});
        continue;
      }
      nlohmann::ordered_json record;
      try {
        record = util::parse_ordered_json(text, "");
      } catch (const Error& e) {
        pipeline.finish(number, {false, {{}, e.what()}, text});
        continue;
      }
      samples.push_back({number, std::move(record)});
      sources.push_back(text);
    }
    if (samples.empty()) continue;
    std::vector<Outcome> outcomes;
    try {
      outcomes = rewrite(samples);
      if (outcomes.size() != samples.size()) {
        fail("regenerate: {} outcomes for {} samples", outcomes.size(), samples.size());
      }
    } catch (const std::exception& e) {
      outcomes.assign(samples.size(), Outcome{{}, e.what()});
    }
    for (std::size_t i = 0; i < samples.size(); ++i) {
      pipeline.finish(samples[i].line, {false, std::move(outcomes[i]), std::move(sources[i])});
    }
  }
}

// Covers the first `total` input lines in settings.output, resuming it.
RegenerateReport run_pass(const RegenerateSettings& settings, std::int64_t total, const Rewriter& rewrite) {
  ResumableOutput output(settings.output, settings.input);
  RegenerateReport report;
  report.resumed = std::min(output.lines_done(), total);
  util::Progress progress("regenerate", static_cast<std::uint64_t>(total - report.resumed), "samples");
  Pipeline pipeline(settings, output, total, progress);
  std::vector<std::thread> threads;
  std::exception_ptr error;
  std::mutex error_mutex;
  for (std::int64_t i = 0; i < settings.workers; ++i) {
    threads.emplace_back([&] {
      try {
        work(pipeline, rewrite);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  progress.finish();
  if (error) std::rethrow_exception(error);
  report.lines = output.lines_done();
  report.failed = output.failed();
  report.any_result = output.output_bytes() > 0;
  report.seconds = progress.elapsed_seconds();
  std::ifstream failures(output.failures_path());
  std::string first;
  if (report.failed > 0 && std::getline(failures, first)) {
    const nlohmann::json f = nlohmann::json::parse(first, nullptr, /*allow_exceptions=*/false);
    if (f.is_object() && f.contains("line") && f.contains("error")) {
      report.first_failure = fmt::format("line {}: {}", f["line"].dump(), f["error"].get<std::string>());
    }
  }
  return report;
}

// The results of a finished pass by input line, for a retry pass that
// copies them: the output holds, in order, a line for every input line that
// is neither blank nor in the failures file.
class EarlierResults {
 public:
  EarlierResults(const std::string& input, const std::string& output, std::int64_t lines)
      : output_(output, std::ios::binary), offsets_(static_cast<std::size_t>(lines) + 1, -1) {
    const std::string failures_path = output + ".failed.jsonl";
    std::ifstream failures(failures_path, std::ios::binary);
    std::string text;
    for (std::int64_t number = 1; std::getline(failures, text); ++number) {
      const nlohmann::json failure = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (!failure.is_object() || !failure.contains("line") || !failure["line"].is_number_integer()) {
        fail("{}:{}: expected a failure record with an integer \"line\"", failures_path, number);
      }
      const auto line = failure["line"].get<std::int64_t>();
      if (line >= 1 && line <= lines) offsets_[static_cast<std::size_t>(line)] = -2;
    }
    std::ifstream in(input, std::ios::binary);
    std::int64_t offset = 0;
    for (std::int64_t line = 1; line <= lines && std::getline(in, text); ++line) {
      if (is_blank(text) || offsets_[static_cast<std::size_t>(line)] == -2) continue;
      offsets_[static_cast<std::size_t>(line)] = offset;
      std::string result;
      if (!std::getline(output_, result)) fail("{}: fewer lines than its progress file counts", output);
      offset += static_cast<std::int64_t>(result.size()) + 1;
    }
  }

  // The earlier result of `line`, or nothing when it failed.
  std::optional<nlohmann::ordered_json> find(std::int64_t line) {
    const std::int64_t offset = offsets_[static_cast<std::size_t>(line)];
    if (offset < 0) return std::nullopt;
    std::lock_guard lock(mutex_);
    output_.clear();
    output_.seekg(offset);
    std::string result;
    std::getline(output_, result);
    return nlohmann::ordered_json::parse(result);
  }

 private:
  std::ifstream output_;
  std::vector<std::int64_t> offsets_;  // byte offset in the output; -1: no result; -2: failed
  std::mutex mutex_;
};

// A finished retry pass is renamed over the output in three steps, after a
// marker file: a run killed between them completes them (the retry files
// still there) before anything else.
void finish_retry_commit(const std::string& output) {
  namespace fs = std::filesystem;
  const std::string retry = output + ".retry", marker = retry + ".commit";
  if (!fs::exists(marker)) return;
  const std::pair<std::string, std::string> moves[] = {{retry + ".failed.jsonl", output + ".failed.jsonl"},
                                                       {retry, output},
                                                       {retry + ".progress", output + ".progress"}};
  for (const auto& [from, to] : moves) {
    if (fs::exists(from)) fs::rename(from, to);
  }
  fs::remove(marker);
}

}  // namespace

RegenerateReport regenerate(const RegenerateSettings& settings, const Rewriter& rewrite) {
  finish_retry_commit(settings.output);
  const std::int64_t lines = count_lines(settings.input);
  const std::int64_t total = settings.limit > 0 ? std::min(settings.limit, lines) : lines;
  RegenerateReport report = run_pass(settings, total, rewrite);
  if (!settings.retry_failed || report.failed == 0) return report;

  EarlierResults earlier(settings.input, settings.output, report.lines);
  const Rewriter copy_or_retry = [&](const std::vector<Sample>& samples) {
    std::vector<Outcome> outcomes(samples.size());
    std::vector<Sample> failed;
    std::vector<std::size_t> where;
    for (std::size_t i = 0; i < samples.size(); ++i) {
      if (auto record = earlier.find(samples[i].line)) {
        outcomes[i].record = std::move(*record);
      } else {
        failed.push_back(samples[i]);
        where.push_back(i);
      }
    }
    if (failed.empty()) return outcomes;
    std::vector<Outcome> retried;
    try {
      retried = rewrite(failed);
    } catch (const std::exception& e) {  // the copied lines stand
      retried.assign(failed.size(), Outcome{{}, e.what()});
    }
    for (std::size_t j = 0; j < where.size(); ++j) outcomes[where[j]] = std::move(retried[j]);
    return outcomes;
  };
  RegenerateSettings retry = settings;
  retry.output = settings.output + ".retry";
  // Killed between creating its output and recording its progress, a
  // retry leaves an empty file that is only in the way.
  namespace fs = std::filesystem;
  if (fs::exists(retry.output) && !fs::exists(retry.output + ".progress") && fs::file_size(retry.output) == 0) {
    fs::remove(retry.output);
  }
  const RegenerateReport first = report;
  report = run_pass(retry, first.lines, copy_or_retry);
  util::write_file_atomic(retry.output + ".commit", "");
  finish_retry_commit(settings.output);
  report.resumed = first.resumed;
  report.retried = first.failed;
  report.seconds += first.seconds;
  return report;
}

}  // namespace talon::regen
