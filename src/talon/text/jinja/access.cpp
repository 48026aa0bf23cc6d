// Attribute and item access as Jinja2's ImmutableSandboxedEnvironment does
// it: `x.name` is the Python attribute (a method of str, dict or list) before
// the dict key; `x[key]` is the item before the attribute; a miss is
// undefined; methods that mutate are refused when called (SecurityError).
#include <algorithm>
#include <set>

#include "talon/text/jinja/builtins.h"
#include "talon/text/jinja/python_str.h"

namespace talon::text::jinja {
namespace {

Value string_list(std::vector<std::string> parts) {
  List out;
  for (std::string& p : parts) out.push_back(Value::string(std::move(p)));
  return Value::list(std::move(out));
}

// str.startswith / endswith: a str or a tuple of str.
bool affix_matches(const std::string& s, const Value& affix, bool prefix) {
  if (affix.kind() == Value::Kind::Tuple) {
    return std::any_of(affix.items().begin(), affix.items().end(),
                       [&](const Value& a) { return affix_matches(s, a, prefix); });
  }
  if (!affix.is_string()) {
    raise(std::string("TypeError: ") + (prefix ? "startswith" : "endswith") +
          " first arg must be str or a tuple of str, not " + type_name(affix));
  }
  const std::string& a = affix.str();
  if (a.size() > s.size()) return false;
  return prefix ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0;
}

// str.format with {} / {0} / {name} fields (no format specs).
std::string str_format(const std::string& format, const CallArgs& args) {
  std::string out;
  std::size_t auto_index = 0;
  for (std::size_t i = 0; i < format.size(); ++i) {
    char c = format[i];
    if (c == '}' && i + 1 < format.size() && format[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{' && i + 1 < format.size() && format[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '{') {
      std::size_t close = format.find('}', i);
      if (close == std::string::npos) raise("ValueError: Single '{' encountered in format string");
      std::string field = format.substr(i + 1, close - i - 1);
      if (field.find_first_of(":!.[") != std::string::npos) {
        raise("ValueError: str.format field '{" + field + "}' is not supported (only {}, {0} and {name})");
      }
      const Value* v = nullptr;
      if (field.empty()) {
        v = auto_index < args.positional.size() ? &args.positional[auto_index] : nullptr;
        ++auto_index;
      } else if (std::all_of(field.begin(), field.end(), ::isdigit)) {
        std::size_t k = std::stoul(field);
        v = k < args.positional.size() ? &args.positional[k] : nullptr;
      } else {
        for (const auto& [key, value] : args.keyword) {
          if (key == field) v = &value;
        }
      }
      if (!v) raise("IndexError: Replacement index " + field + " out of range for positional args tuple");
      out += to_str(*v);
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

std::string pad(const std::string& s, std::int64_t width, const std::string& fill, char align) {
  std::int64_t missing = width - code_point_count(s);
  if (missing <= 0) return s;
  auto repeat = [&](std::int64_t n) {
    std::string out;
    for (std::int64_t i = 0; i < n; ++i) out += fill;
    return out;
  };
  if (align == '<') return s + repeat(missing);
  if (align == '>') return repeat(missing) + s;
  std::int64_t left = missing / 2 + (missing & width & 1);  // CPython's centering
  return repeat(left) + s + repeat(missing - left);
}

Value string_method(const Value& self, const std::string& name, const CallArgs& args) {
  const std::string& s = self.str();
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    return Value::string(strip(s, args.optional_string(0, "chars"), name[0] == 's' ? 'b' : name[0]));
  }
  if (name == "split" || name == "rsplit") {
    const std::string* sep = args.optional_string(0, "sep");
    std::int64_t maxsplit = args.integer(1, "maxsplit", -1);
    return string_list(name == "split" ? split(s, sep, maxsplit) : rsplit(s, sep, maxsplit));
  }
  if (name == "splitlines") return string_list(splitlines(s));
  if (name == "startswith" || name == "endswith") {
    const Value* affix = args.get(0, "prefix");
    if (!affix) raise("TypeError: " + name + " takes at least 1 argument");
    return Value::boolean(affix_matches(s, *affix, name == "startswith"));
  }
  if (name == "upper") return Value::string(upper(s));
  if (name == "lower") return Value::string(lower(s));
  if (name == "title") return Value::string(title(s));
  if (name == "capitalize") return Value::string(capitalize(s));
  if (name == "replace") {
    return Value::string(replace(s, args.string(0, "old"), args.string(1, "new"), args.integer(2, "count", -1)));
  }
  if (name == "find" || name == "index") {
    std::int64_t at = find(s, args.string(0, "sub"));
    if (at < 0 && name == "index") raise("ValueError: substring not found");
    return Value::integer(at);
  }
  if (name == "rfind" || name == "rindex") {
    std::int64_t at = rfind(s, args.string(0, "sub"));
    if (at < 0 && name == "rindex") raise("ValueError: substring not found");
    return Value::integer(at);
  }
  if (name == "count") return Value::integer(count(s, args.string(0, "sub")));
  if (name == "join") {
    const Value* items = args.get(0, "iterable");
    if (!items) raise("TypeError: join() takes exactly one argument");
    std::string out;
    bool first = true;
    for (const Value& item : iterate(*items)) {
      if (!item.is_string()) raise("TypeError: sequence item: expected str instance, " + type_name(item) + " found");
      if (!first) out += s;
      first = false;
      out += item.str();
    }
    return Value::string(out);
  }
  if (name == "format") return Value::string(str_format(s, args));
  if (name == "removeprefix" || name == "removesuffix") {
    const std::string& affix = args.string(0, name == "removeprefix" ? "prefix" : "suffix");
    if (!affix_matches(s, Value::string(affix), name == "removeprefix")) return self;
    return Value::string(name == "removeprefix" ? s.substr(affix.size()) : s.substr(0, s.size() - affix.size()));
  }
  if (name == "center" || name == "ljust" || name == "rjust") {
    const Value* fill = args.get(1, "fillchar");
    return Value::string(pad(s, args.integer(0, "width", 0), fill && fill->is_string() ? fill->str() : " ",
                             name == "center" ? '^' : name == "ljust" ? '<' : '>'));
  }
  if (name == "zfill") {
    std::int64_t width = args.integer(0, "width", 0);
    bool sign = !s.empty() && (s[0] == '-' || s[0] == '+');
    std::string padded = pad(sign ? s.substr(1) : s, width - (sign ? 1 : 0), "0", '>');
    return Value::string(sign ? s.substr(0, 1) + padded : padded);
  }
  return Value::boolean(char_class(s, name));  // isdigit, isalpha, isalnum, isspace, islower, isupper
}

const std::set<std::string>& string_methods() {
  static const std::set<std::string> names = {
      "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "upper", "lower",
      "title", "capitalize", "replace", "find", "index", "rfind", "rindex", "count", "join", "format",
      "removeprefix", "removesuffix", "center", "ljust", "rjust", "zfill", "isdigit", "isalpha", "isalnum",
      "isspace", "islower", "isupper"};
  return names;
}

Value dict_method(const Value& self, const std::string& name, const CallArgs& args) {
  const Dict& d = self.dict_ref();
  if (name == "copy") return Value::dict(std::make_shared<Dict>(d));
  if (name == "items" || name == "keys" || name == "values") {
    List out;
    for (const auto& [k, v] : d.entries) {
      out.push_back(name == "items" ? Value::tuple({k, v}) : name == "keys" ? k : v);
    }
    return Value::list(std::move(out));
  }
  // get
  const Value* key = args.get(0, "key");
  if (!key) raise("TypeError: get expected at least 1 argument, got 0");
  if (const Value* found = d.find(*key)) return *found;
  const Value* fallback = args.get(1, "default");
  return fallback ? *fallback : Value::none();
}

Value list_method(const Value& self, const std::string& name, const CallArgs& args) {
  if (name == "copy") return Value::list(self.items());
  const Value* x = args.get(0, "value");
  if (!x) raise("TypeError: " + name + "() takes at least 1 argument");
  std::int64_t n = 0;
  for (std::size_t i = 0; i < self.items().size(); ++i) {
    if (!equals(self.items()[i], *x)) continue;
    if (name == "index") return Value::integer(static_cast<std::int64_t>(i));
    ++n;
  }
  if (name == "index") raise("ValueError: " + repr(*x) + " is not in list");
  return Value::integer(n);
}

Value bind(const Value& self, const std::string& name, Value (*method)(const Value&, const std::string&, const CallArgs&)) {
  return Value::callable(name, [self, name, method](CallArgs& args) { return method(self, name, args); });
}

Value unsafe(const Value& object, const std::string& name) {
  return Value::undefined("access to attribute '" + name + "' of '" + type_name(object) + "' object is unsafe.", true);
}

Value missing_attribute(const Value& object, const std::string& name) {
  return Value::undefined("'" + type_name(object) + " object' has no attribute '" + name + "'");
}

Value loop_attribute(const Value& object, const std::string& name) {
  const LoopState& loop = object.loop_state();
  auto n = static_cast<std::int64_t>(loop.items.size());
  auto i = static_cast<std::int64_t>(loop.index);
  if (name == "index") return Value::integer(i + 1);
  if (name == "index0") return Value::integer(i);
  if (name == "revindex") return Value::integer(n - i);
  if (name == "revindex0") return Value::integer(n - i - 1);
  if (name == "first") return Value::boolean(i == 0);
  if (name == "last") return Value::boolean(i == n - 1);
  if (name == "length") return Value::integer(n);
  // Only recursive loops (refused) go deeper than 1.
  if (name == "depth") return Value::integer(1);
  if (name == "depth0") return Value::integer(0);
  if (name == "previtem") return i > 0 ? loop.items[static_cast<std::size_t>(i - 1)] : Value::undefined("there is no previous item");
  if (name == "nextitem") return i + 1 < n ? loop.items[static_cast<std::size_t>(i + 1)] : Value::undefined("there is no next item");
  if (name == "cycle") {
    std::int64_t index = i;
    return Value::callable("cycle", [index](CallArgs& args) {
      if (args.positional.empty()) raise("TypeError: no items for cycling given");
      return args.positional[static_cast<std::size_t>(index) % args.positional.size()];
    });
  }
  if (name == "changed") {
    Value loop_value = object;
    return Value::callable("changed", [loop_value](CallArgs& args) {
      LoopState& state = loop_value.loop_state();
      Value values = Value::tuple(args.positional);
      if (!state.last_changed.is_undefined() && equals(state.last_changed, values)) return Value::boolean(false);
      state.last_changed = values;
      return Value::boolean(true);
    });
  }
  return missing_attribute(object, name);
}

std::int64_t normalize_index(std::int64_t i, std::int64_t n) { return i < 0 ? i + n : i; }

}  // namespace

Value get_attribute(const Value& object, const std::string& name) {
  switch (object.kind()) {
    case Value::Kind::Undefined: raise((object.unsafe() ? "SecurityError: " : "UndefinedError: ") + object.str());
    case Value::Kind::String:
      if (string_methods().count(name)) return bind(object, name, string_method);
      break;
    case Value::Kind::Dict:
      if (name == "items" || name == "keys" || name == "values" || name == "get" || name == "copy") {
        return bind(object, name, dict_method);
      }
      if (name == "pop" || name == "popitem" || name == "setdefault" || name == "update" || name == "clear") {
        return unsafe(object, name);
      }
      if (const Value* v = object.dict_ref().find(Value::string(name))) return *v;
      break;
    case Value::Kind::List:
    case Value::Kind::Tuple:
      if (name == "index" || name == "count" || (name == "copy" && object.kind() == Value::Kind::List)) {
        return bind(object, name, list_method);
      }
      if (object.kind() == Value::Kind::List &&
          (name == "append" || name == "extend" || name == "insert" || name == "pop" || name == "remove" ||
           name == "clear" || name == "sort" || name == "reverse")) {
        return unsafe(object, name);
      }
      break;
    case Value::Kind::Namespace:
      if (const Value* v = object.dict_ref().find(Value::string(name))) return *v;
      break;
    case Value::Kind::Loop: return loop_attribute(object, name);
    default: break;
  }
  return missing_attribute(object, name);
}

Value get_item(const Value& object, const Value& key) {
  switch (object.kind()) {
    case Value::Kind::Undefined: raise((object.unsafe() ? "SecurityError: " : "UndefinedError: ") + object.str());
    case Value::Kind::Dict:
      if (const Value* v = object.dict_ref().find(key)) return *v;
      break;
    case Value::Kind::String:
    case Value::Kind::List:
    case Value::Kind::Tuple:
      if (key.kind() == Value::Kind::Int || key.kind() == Value::Kind::Bool) {
        std::int64_t n = length(object);
        std::int64_t i = normalize_index(key.as_int(), n);
        if (i < 0 || i >= n) return Value::undefined("'" + type_name(object) + " object' has no element " + to_str(key));
        if (object.is_string()) return Value::string(code_points(object.str())[static_cast<std::size_t>(i)]);
        return object.items()[static_cast<std::size_t>(i)];
      }
      break;
    default: break;
  }
  if (key.is_string()) return get_attribute(object, key.str());
  return Value::undefined("'" + type_name(object) + " object' has no element " + repr(key));
}

Value get_slice(const Value& object, const Value* start, const Value* stop, const Value* step) {
  auto bound = [](const Value* v, const char* what) -> const Value* {
    if (!v || v->is_none()) return nullptr;
    if (v->kind() != Value::Kind::Int && v->kind() != Value::Kind::Bool) {
      raise(std::string("TypeError: slice ") + what + " must be an integer or None");
    }
    return v;
  };
  start = bound(start, "indices");
  stop = bound(stop, "indices");
  step = bound(step, "indices");
  // Jinja2 slices with Python's own obj[slice], not the sandbox's getitem:
  // what cannot be sliced raises.
  if (object.is_undefined()) raise("UndefinedError: " + object.str());
  if (object.is_mapping()) raise("TypeError: unhashable type: 'slice'");
  if (!object.is_string() && !object.is_sequence()) raise("TypeError: '" + type_name(object) + "' object is not subscriptable");
  std::vector<std::string> chars;
  if (object.is_string()) chars = code_points(object.str());
  auto n = static_cast<std::int64_t>(object.is_string() ? chars.size() : object.items().size());
  std::int64_t st = step ? step->as_int() : 1;
  if (st == 0) raise("ValueError: slice step cannot be zero");
  // CPython's PySlice_AdjustIndices.
  auto adjust = [&](const Value* v, std::int64_t fallback) {
    if (!v) return fallback;
    std::int64_t i = v->as_int();
    if (i < 0) {
      i += n;
      if (i < 0) i = st < 0 ? -1 : 0;
    } else if (i >= n) {
      i = st < 0 ? n - 1 : n;
    }
    return i;
  };
  std::int64_t b = adjust(start, st < 0 ? n - 1 : 0);
  std::int64_t e = adjust(stop, st < 0 ? -1 : n);
  std::string text;
  List items;
  for (std::int64_t i = b; st > 0 ? i < e : i > e; i += st) {
    if (object.is_string()) {
      text += chars[static_cast<std::size_t>(i)];
    } else {
      items.push_back(object.items()[static_cast<std::size_t>(i)]);
    }
  }
  if (object.is_string()) return Value::string(text);
  return object.kind() == Value::Kind::List ? Value::list(items) : Value::tuple(items);
}

}  // namespace talon::text::jinja
