#include "talon/regen/regenerate.h"

#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "talon/regen/resumable_output.h"
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

void work(Pipeline& pipeline, const Rewriter& rewrite) {
  while (true) {
    const auto lines = pipeline.take();
    if (lines.empty()) return;
    std::vector<Sample> samples;
    std::vector<std::string> sources;
    for (const auto& [number, text] : lines) {
      if (text.find_first_not_of(" \t\r") == std::string::npos) {
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

}  // namespace

RegenerateReport regenerate(const RegenerateSettings& settings, const Rewriter& rewrite) {
  const std::int64_t lines = count_lines(settings.input);
  const std::int64_t total = settings.limit > 0 ? std::min(settings.limit, lines) : lines;
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
  report.seconds = progress.elapsed_seconds();
  return report;
}

}  // namespace talon::regen
