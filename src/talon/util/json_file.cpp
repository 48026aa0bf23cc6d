#include "talon/util/json_file.h"

#include <optional>
#include <unordered_set>
#include <vector>

#include "talon/util/atomic_file.h"
#include "talon/util/error.h"

namespace talon::util {
namespace {

using nlohmann::json;
using ParseEvent = nlohmann::detail::parse_event_t;

// "<source>: <message>", or the message alone for an unnamed source.
std::string located(const std::string& source, const std::string& message) {
  return source.empty() ? message : source + ": " + message;
}

// Bounds the nesting and counts the keys of each object while it is parsed:
// an object that ends up with fewer members than keys had one repeated.
// Counting costs nothing measurable, where keeping every key in a set would
// more than double the parse time of a 9 MB tokenizer.json. nlohmann's
// parser keeps its own stack, so it survives any depth; what comes after it
// does not, hence the throw on the way down.
template <typename Json>
class ParseGuard {
 public:
  explicit ParseGuard(const std::string& source) : source_(source) {}

  bool operator()(int depth, ParseEvent event, Json& parsed) {
    switch (event) {
      case ParseEvent::array_start:
      case ParseEvent::object_start:
        if (depth >= kMaxJsonDepth) {
          throw Error(located(source_, fmt::format("nested deeper than {} levels of arrays and objects (Talon's limit)",
                                                   kMaxJsonDepth)));
        }
        if (event == ParseEvent::object_start) counts_.push_back(0);
        break;
      case ParseEvent::key: ++counts_.back(); break;
      case ParseEvent::object_end:
        repeated_ = repeated_ || parsed.size() != counts_.back();
        counts_.pop_back();
        break;
      default: break;
    }
    return true;
  }

  bool repeated() const { return repeated_; }

 private:
  const std::string& source_;
  std::vector<std::size_t> counts_;
  bool repeated_ = false;
};

// Names the first repeated key, with the keys of its enclosing objects as a
// path. Run only once ParseGuard has found one (so the depth is bounded).
template <typename Json>
class DuplicateKeyFinder {
 public:
  bool operator()(int, ParseEvent event, Json& parsed) {
    switch (event) {
      case ParseEvent::object_start: frames_.emplace_back(); break;
      case ParseEvent::object_end: frames_.pop_back(); break;
      case ParseEvent::key: {
        Frame& frame = frames_.back();
        frame.last_key = parsed.template get<std::string>();
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

template <typename Json>
Json parse(std::string_view text, const std::string& source) {
  ParseGuard<Json> counter(source);
  Json value;
  try {
    // parse_error, or out_of_range for a number like 1e999
    value = Json::parse(text.begin(), text.end(), std::ref(counter));
  } catch (const typename Json::exception& e) {
    fail("{}", located(source, std::string("not valid JSON: ") + e.what()));
  }
  if (counter.repeated()) {
    DuplicateKeyFinder<Json> finder;
    value = Json::parse(text.begin(), text.end(), std::ref(finder));  // the same text again, to name the key
    fail("{}", located(source, "duplicate key " + *finder.duplicate()));
  }
  return value;
}

}  // namespace

json parse_json(std::string_view text, const std::string& source) { return parse<json>(text, source); }

nlohmann::ordered_json parse_ordered_json(std::string_view text, const std::string& source) {
  return parse<nlohmann::ordered_json>(text, source);
}

json load_json_file(const std::string& path) { return parse_json(read_file(path), path); }

}  // namespace talon::util
