#include "talon/track/metrics_log.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>
#include <system_error>

#include <nlohmann/json.hpp>

#include "talon/util/atomic_file.h"
#include "talon/util/error.h"
#include "talon/util/json_file.h"

namespace talon::track {
namespace {

bool blank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

// A line as util::parse_json reads every JSON text; null when it refuses it.
nlohmann::json parse_line(std::string_view line) {
  try {
    return util::parse_json(line, "");
  } catch (const Error&) {
    return nullptr;
  }
}

// The integer "step" of an object record; nullopt when it has none.
std::optional<std::int64_t> integer_step(const nlohmann::json& record) {
  if (!record.is_object()) return std::nullopt;
  auto it = record.find("step");
  if (it == record.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

}  // namespace

MetricsLog MetricsLog::open(const std::string& path, std::int64_t resume_step) {
  MetricsLog log;
  log.path_ = path;
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code error;
  if (!parent.empty()) std::filesystem::create_directories(parent, error);
  if (error) fail("cannot create the folder of {}: {}", path, error.message());

  std::string kept;
  if (std::filesystem::exists(path)) {
    std::string text = util::read_file(path);
    std::size_t line_number = 0;
    for (std::size_t begin = 0; begin < text.size();) {
      ++line_number;
      std::size_t end = text.find('\n', begin);
      if (end == std::string::npos) {  // torn: the crash came before the newline
        if (!blank(std::string_view(text).substr(begin))) ++log.dropped_;
        break;
      }
      std::string_view line = std::string_view(text).substr(begin, end - begin);
      begin = end + 1;
      if (blank(line)) continue;
      std::optional<std::int64_t> step = integer_step(parse_line(line));
      if (!step) {
        fail("{}:{}: expected a JSON object with an integer \"step\", found: {}", path, line_number,
             line.substr(0, 200));
      }
      if (*step <= resume_step) {
        kept.append(line).push_back('\n');
        ++log.kept_;
      } else {
        ++log.dropped_;
      }
    }
  }
  util::write_file_atomic(path, kept);
  log.file_.reset(std::fopen(path.c_str(), "ab"));
  if (!log.file_) fail("cannot open {} for appending: {}", path, std::strerror(errno));
  return log;
}

void MetricsLog::append(const nlohmann::json& record) {
  // Invalid UTF-8 in a string becomes U+FFFD instead of an exception mid-run.
  std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (!integer_step(record)) {
    fail("metrics record for {}: expected a JSON object with an integer \"step\", found: {}", path_,
         line.substr(0, 200));
  }
  line.push_back('\n');
  if (std::fwrite(line.data(), 1, line.size(), file_.get()) != line.size() || std::fflush(file_.get()) != 0) {
    fail("cannot write {}: {}", path_, std::strerror(errno));
  }
}

}  // namespace talon::track
