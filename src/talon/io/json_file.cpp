#include "talon/io/json_file.h"

#include <optional>
#include <set>
#include <vector>

#include "talon/util/atomic_file.h"
#include "talon/util/error.h"

namespace talon::io {
namespace {

using nlohmann::json;

// Tracks the keys of every open object during parsing; the first repeated
// key is remembered with the keys of its enclosing objects as a path.
class DuplicateKeyFinder {
 public:
  bool operator()(int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: frames_.emplace_back(); break;
      case json::parse_event_t::object_end: frames_.pop_back(); break;
      case json::parse_event_t::key: {
        Frame& frame = frames_.back();
        frame.last_key = parsed.get<std::string>();
        if (!frame.keys.insert(frame.last_key).second && !duplicate_) duplicate_ = describe();
        break;
      }
      default: break;
    }
    return true;
  }

  const std::optional<std::string>& duplicate() const { return duplicate_; }

 private:
  struct Frame {
    std::set<std::string> keys;
    std::string last_key;
  };

  std::string describe() const {
    std::string text = "\"" + frames_.back().last_key + "\"";
    if (frames_.size() > 1) {
      std::string path;
      for (std::size_t i = 0; i + 1 < frames_.size(); ++i) {
        path += (i == 0 ? "" : ".") + frames_[i].last_key;
      }
      text += " in \"" + path + "\"";
    }
    return text;
  }

  std::vector<Frame> frames_;
  std::optional<std::string> duplicate_;
};

}  // namespace

json parse_json(std::string_view text, const std::string& source) {
  DuplicateKeyFinder finder;
  json value;
  try {
    value = json::parse(text.begin(), text.end(), std::ref(finder));
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", source, e.what());
  }
  if (finder.duplicate()) fail("{}: duplicate key {}", source, *finder.duplicate());
  return value;
}

json load_json_file(const std::string& path) { return parse_json(util::read_file(path), path); }

}  // namespace talon::io
