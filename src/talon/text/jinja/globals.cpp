// The names every template sees: Jinja2's range, dict, namespace and joiner,
// and transformers' raise_exception and strftime_now.
#include <cstdlib>
#include <ctime>

#include "talon/text/jinja/builtins.h"

namespace talon::text::jinja {
namespace {

Value range(CallArgs& args) {
  if (!args.keyword.empty()) raise("TypeError: range() takes no keyword arguments");
  std::vector<std::int64_t> n;
  for (const Value& v : args.positional) {
    if (v.kind() != Value::Kind::Int && v.kind() != Value::Kind::Bool) {
      raise("TypeError: '" + type_name(v) + "' object cannot be interpreted as an integer");
    }
    n.push_back(v.as_int());
  }
  if (n.empty() || n.size() > 3) raise("TypeError: range expected 1 to 3 arguments, got " + std::to_string(n.size()));
  std::int64_t start = n.size() == 1 ? 0 : n[0];
  std::int64_t stop = n.size() == 1 ? n[0] : n[1];
  std::int64_t step = n.size() == 3 ? n[2] : 1;
  if (step == 0) raise("ValueError: range() arg 3 must not be zero");
  // The sandbox refuses ranges over 100000 items (MAX_RANGE).
  std::int64_t count = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0)
                                : (start > stop ? (start - stop - step - 1) / -step : 0);
  if (count > 100000) raise("OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  List out;
  for (std::int64_t i = 0; i < count; ++i) out.push_back(Value::integer(start + i * step));
  return Value::list(std::move(out));
}

// dict(...) and namespace(...): a mapping or pairs, then keyword arguments.
std::shared_ptr<Dict> mapping_from(const CallArgs& args, const char* what) {
  auto d = std::make_shared<Dict>();
  if (args.positional.size() > 1) raise(std::string("TypeError: ") + what + " expected at most 1 positional argument");
  if (!args.positional.empty()) {
    const Value& source = args.positional[0];
    if (source.is_mapping() || source.kind() == Value::Kind::Namespace) {
      *d = source.dict_ref();
    } else {
      for (const Value& pair : iterate(source)) {
        List kv = iterate(pair);
        if (kv.size() != 2) raise(std::string("ValueError: ") + what + " update sequence element has length " + std::to_string(kv.size()) + "; 2 is required");
        d->set(kv[0], kv[1]);
      }
    }
  }
  for (const auto& [key, value] : args.keyword) d->set(Value::string(key), value);
  return d;
}

Value strftime_now(CallArgs& args) {
  const Value* format = args.get(0, "format");
  if (!format || !format->is_string()) raise("TypeError: strftime_now needs a format string");
  // SOURCE_DATE_EPOCH (the reproducible-builds convention) pins the clock,
  // in UTC; without it this is Python's datetime.now(), local time.
  std::tm local{};
  if (const char* pinned = std::getenv("SOURCE_DATE_EPOCH")) {
    auto now = static_cast<std::time_t>(std::strtoll(pinned, nullptr, 10));
    gmtime_r(&now, &local);
  } else {
    std::time_t now = std::time(nullptr);
    localtime_r(&now, &local);
  }
  char buf[512];
  std::size_t n = std::strftime(buf, sizeof buf, format->str().c_str(), &local);
  return Value::string(std::string(buf, n));
}

}  // namespace

const Dict& globals() {
  static const Dict table = [] {
    Dict g;
    auto add = [&](const std::string& name, std::function<Value(CallArgs&)> fn) {
      g.set(Value::string(name), Value::callable(name, std::move(fn)));
    };
    add("range", range);
    add("dict", [](CallArgs& a) { return Value::dict(mapping_from(a, "dict")); });
    add("namespace", [](CallArgs& a) {
      auto d = mapping_from(a, "namespace");
      for (const auto& [key, value] : d->entries) {
        if (key.is_string() && !key.str().empty() && key.str()[0] == '_') {
          raise("SecurityError: Chat templates cannot store underscore-prefixed attributes on a namespace, but got '" +
                key.str() + "'. Please rename the attribute.");
        }
      }
      return Value::namespace_(d);
    });
    add("raise_exception", [](CallArgs& a) -> Value {
      const Value* message = a.get(0, "message");
      raise(message ? to_str(*message) : "");
    });
    add("strftime_now", strftime_now);
    add("joiner", [](CallArgs& a) {
      const Value* sep = a.get(0, "sep");
      std::string separator = sep ? to_str(*sep) : ", ";
      auto used = std::make_shared<bool>(false);
      return Value::callable("joiner", [separator, used](CallArgs&) {
        if (!*used) {
          *used = true;
          return Value::string("");
        }
        return Value::string(separator);
      });
    });
    return g;
  }();
  return table;
}

}  // namespace talon::text::jinja
