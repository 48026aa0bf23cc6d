#include "talon/util/json_file.h"

#include <optional>
#include <unordered_set>
#include <vector>

#include "talon/util/atomic_file.h"
#include "talon/util/error.h"

namespace talon::util {
namespace {

using nlohmann::json;

// Counts the keys of each object while it is parsed: an object that ends up
// with fewer members than keys had one repeated. Counting costs nothing
// measurable, where keeping every key in a set would more than double the
// parse time of a 9 MB tokenizer.json.
class KeyCounter {
 public:
  bool operator()(int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: counts_.push_back(0); break;
      case json::parse_event_t::key: ++counts_.back(); break;
      case json::parse_event_t::object_end:
        repeated_ = repeated_ || parsed.size() != counts_.back();
        counts_.pop_back();
        break;
      default: break;
    }
    return true;
  }

  bool repeated() const { return repeated_; }

 private:
  std::vector<std::size_t> counts_;
  bool repeated_ = false;
};

// Names the first repeated key, with the keys of its enclosing objects as a
// path. Run only once KeyCounter has found one.
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
    std::unordered_set<std::string> keys;
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
  KeyCounter counter;
  json value;
  try {
    // parse_error, or out_of_range for a number like 1e999
    value = json::parse(text.begin(), text.end(), std::ref(counter));
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", source, e.what());
  }
  if (counter.repeated()) {
    DuplicateKeyFinder finder;
    value = json::parse(text.begin(), text.end(), std::ref(finder));  // the same text again, to name the key
    fail("{}: duplicate key {}", source, *finder.duplicate());
  }
  return value;
}

json load_json_file(const std::string& path) { return parse_json(read_file(path), path); }

}  // namespace talon::util
