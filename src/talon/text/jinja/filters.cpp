// Jinja2's built-in filters, with transformers' tojson, as far as chat
// templates use them. Filters that return generators in Jinja2 (map, select,
// batch, ...) return lists here: templates consume them the same way.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>

#include "talon/text/jinja/builtins.h"
#include "talon/text/jinja/python_str.h"
#include "talon/util/utf8.h"

namespace talon::text::jinja {
namespace {

using Filter = std::function<Value(const Value&, const CallArgs&)>;

// Jinja's attribute= paths: "a.b.0" looks up a, then b, then item 0.
Value attribute_path(const Value& item, const std::string& path) {
  Value v = item;
  std::string dot = ".";
  for (const std::string& part : split(path, &dot, -1)) {
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    v = get_item(v, digits ? Value::integer(std::stoll(part)) : Value::string(part));
  }
  return v;
}

Value lowered(const Value& v, bool case_sensitive) {
  return !case_sensitive && v.is_string() ? Value::string(lower(v.str())) : v;
}

// The sort key of an item for sort, unique, min and max.
std::function<Value(const Value&)> key_function(const CallArgs& args, std::size_t case_index, std::size_t attr_index) {
  bool case_sensitive = args.flag(case_index, "case_sensitive", false);
  const Value* attribute = args.get(attr_index, "attribute");
  std::string path = attribute && !attribute->is_none() ? to_str(*attribute) : "";
  return [case_sensitive, path](const Value& item) {
    return lowered(path.empty() ? item : attribute_path(item, path), case_sensitive);
  };
}

List sorted(List items, const std::function<Value(const Value&)>& key, bool reverse) {
  std::vector<std::pair<Value, Value>> keyed;
  for (Value& item : items) keyed.emplace_back(key(item), std::move(item));
  std::stable_sort(keyed.begin(), keyed.end(), [reverse](const auto& a, const auto& b) {
    return reverse ? compare(b.first, a.first) < 0 : compare(a.first, b.first) < 0;
  });
  List out;
  for (auto& [k, item] : keyed) out.push_back(std::move(item));
  return out;
}

Value min_max(const Value& value, const CallArgs& args, bool max) {
  List items = iterate(value);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  auto key = key_function(args, 0, 1);
  std::size_t best = 0;
  for (std::size_t i = 1; i < items.size(); ++i) {
    int c = compare(key(items[i]), key(items[best]));
    if (max ? c > 0 : c < 0) best = i;
  }
  return items[best];
}

// select, reject, selectattr, rejectattr: `args` hold [attribute,] test, test args.
Value select(const Value& value, const CallArgs& args, bool by_attribute, bool keep) {
  std::size_t first = by_attribute ? 1 : 0;
  std::string path = by_attribute ? args.text(0, "attribute", "") : "";
  CallArgs test_args;
  for (std::size_t i = first + 1; i < args.positional.size(); ++i) test_args.positional.push_back(args.positional[i]);
  test_args.keyword = args.keyword;
  bool with_test = args.positional.size() > first;
  std::string test = with_test ? to_str(args.positional[first]) : "";
  if (with_test && !has_test(test)) raise("TemplateRuntimeError: No test named '" + test + "'.");
  List out;
  if (!truthy(value)) return Value::list();  // Jinja2 checks `if seq:` before iterating
  for (const Value& item : iterate(value)) {
    Value subject = by_attribute ? attribute_path(item, path) : item;
    bool passed = with_test ? apply_test(test, subject, test_args) : truthy(subject);
    if (passed == keep) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value map_filter(const Value& value, const CallArgs& args) {
  List out;
  if (!truthy(value)) return Value::list();  // Jinja2 checks `if value:` before iterating
  const Value* attribute = args.get(CallArgs::kKeywordOnly, "attribute");
  if (attribute) {
    const Value* fallback = args.get(CallArgs::kKeywordOnly, "default");
    for (const Value& item : iterate(value)) {
      Value v = attribute_path(item, to_str(*attribute));
      out.push_back(v.is_undefined() && fallback ? *fallback : v);
    }
    return Value::list(std::move(out));
  }
  if (args.positional.empty()) raise("FilterArgumentError: map requires a filter argument");
  std::string filter = to_str(args.positional[0]);
  if (!has_filter(filter)) raise("TemplateRuntimeError: No filter named '" + filter + "'.");
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.keyword = args.keyword;
  for (const Value& item : iterate(value)) out.push_back(apply_filter(filter, item, rest));
  return Value::list(std::move(out));
}

Value round_filter(const Value& value, const CallArgs& args) {
  std::int64_t precision = args.integer(0, "precision", 0);
  std::string method = args.text(1, "method", "common");
  if (method != "common" && method != "ceil" && method != "floor") {
    raise("FilterArgumentError: method must be common, ceil or floor");
  }
  if (!value.is_number()) raise("TypeError: type " + type_name(value) + " doesn't define __round__ method");
  if (method == "common") {
    if (value.kind() != Value::Kind::Float) return Value::integer(value.as_int());
    // printf rounds the exact binary value correctly, half to even, as Python's round() does.
    char buf[512];
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(std::max<std::int64_t>(precision, 0)), value.as_float());
    return Value::floating(std::strtod(buf, nullptr));
  }
  double scale = std::pow(10.0, static_cast<double>(precision));
  double scaled = value.as_float() * scale;
  return Value::floating((method == "ceil" ? std::ceil(scaled) : std::floor(scaled)) / scale);
}

bool parse_int(std::string s, int base, std::int64_t& out) {
  s = strip(s, nullptr, 'b');
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  if (s.empty()) return false;
  std::size_t start = s[0] == '+' || s[0] == '-' ? 1 : 0;
  if (base == 16 || base == 8 || base == 2) {
    char p = base == 16 ? 'x' : base == 8 ? 'o' : 'b';
    if (s.size() > start + 2 && s[start] == '0' && std::tolower(s[start + 1]) == p) s.erase(start, 2);
  }
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, base);
  if (errno || *end || !std::isalnum(static_cast<unsigned char>(s[start]))) return false;
  out = v;
  return true;
}

bool parse_float(const std::string& text, double& out) {
  std::string s = strip(text, nullptr, 'b');
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return *end == 0;
}

// int(f): truncation, refused where Python's unbounded int would be needed.
std::int64_t float_to_int(double f) {
  if (!(f > -9.3e18 && f < 9.2e18)) raise("OverflowError: int(" + float_repr(f) + ") does not fit in 64 bits (Python's would)");
  return static_cast<std::int64_t>(f);
}

// int() and float() of Jinja2's Undefined raise.
void refuse_undefined(const Value& value) {
  if (value.is_undefined()) raise("UndefinedError: " + value.str());
}

Value int_filter(const Value& value, const CallArgs& args) {
  refuse_undefined(value);
  const Value* fallback = args.get(0, "default");
  Value otherwise = fallback ? *fallback : Value::integer(0);
  std::int64_t base = args.integer(1, "base", 10);
  if (value.kind() == Value::Kind::Float) return Value::integer(float_to_int(value.as_float()));
  if (value.is_number()) return Value::integer(value.as_int());
  if (!value.is_string()) return otherwise;
  std::int64_t i = 0;
  if (parse_int(value.str(), static_cast<int>(base), i)) return Value::integer(i);
  double f = 0;
  if (parse_float(value.str(), f) && std::isfinite(f)) return Value::integer(float_to_int(f));
  return otherwise;
}

Value float_filter(const Value& value, const CallArgs& args) {
  refuse_undefined(value);
  const Value* fallback = args.get(0, "default");
  if (value.is_number()) return Value::floating(value.as_float());
  double f = 0;
  if (value.is_string() && parse_float(value.str(), f)) return Value::floating(f);
  return fallback ? *fallback : Value::floating(0.0);
}

Value indent_filter(const Value& value, const CallArgs& args) {
  refuse_undefined(value);
  if (!value.is_string()) raise("TypeError: unsupported operand type(s) for +=: '" + type_name(value) + "' and 'str'");
  const Value* width = args.get(0, "width");
  std::string indention = width && width->is_string() ? width->str() : std::string(static_cast<std::size_t>(args.integer(0, "width", 4)), ' ');
  bool first = args.flag(1, "first", false);
  bool blank = args.flag(2, "blank", false);
  std::vector<std::string> lines = splitlines(to_str(value) + "\n");
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i) out += "\n";
    if (i > 0 && (blank || !lines[i].empty())) out += indention;
    out += lines[i];
  }
  return Value::string(first ? indention + out : out);
}

Value truncate_filter(const Value& value, const CallArgs& args) {
  std::int64_t length = args.integer(0, "length", 255);
  bool killwords = args.flag(1, "killwords", false);
  std::string end = args.text(2, "end", "...");
  std::int64_t leeway = args.integer(3, "leeway", 5);
  if (jinja::length(value) <= length + leeway) return value;  // len() raises as Python's does
  if (!value.is_string()) raise("TypeError: truncate can only shorten a str, not " + type_name(value));
  std::vector<std::string> s = code_points(value.str());
  std::string head;
  for (std::int64_t i = 0; i < std::max<std::int64_t>(0, length - code_point_count(end)); ++i) head += s[static_cast<std::size_t>(i)];
  if (killwords) return Value::string(head + end);
  std::string space = " ";
  return Value::string(rsplit(head, &space, 1)[0] + end);
}

Value title_filter(const Value& value) {
  // Jinja capitalizes after runs of -, whitespace, (, {, [ and <.
  std::string out;
  bool word_start = true;
  for (const std::string& cp : code_points(to_str(value))) {
    bool boundary = cp == "-" || cp == "(" || cp == "{" || cp == "[" || cp == "<" ||
                    is_space(util::decode_code_point(cp, 0).value);
    out += boundary ? cp : word_start ? upper(cp) : lower(cp);
    word_start = boundary;
  }
  return Value::string(out);
}

Value wordcount_filter(const Value& value) {
  std::int64_t n = 0;
  bool in_word = false;
  for (const std::string& cp : code_points(to_str(value))) {
    bool word = cp.size() > 1 || std::isalnum(static_cast<unsigned char>(cp[0])) || cp[0] == '_';
    if (word && !in_word) ++n;
    in_word = word;
  }
  return Value::integer(n);
}

Value dictsort_filter(const Value& value, const CallArgs& args) {
  if (!value.is_mapping()) raise("TypeError: dictsort expects a mapping, not " + type_name(value));
  bool case_sensitive = args.flag(0, "case_sensitive", false);
  std::string by = args.text(1, "by", "key");
  if (by != "key" && by != "value") raise("FilterArgumentError: You can only sort by either \"key\" or \"value\"");
  bool reverse = args.flag(2, "reverse", false);
  List items;
  for (const auto& [k, v] : value.dict_ref().entries) items.push_back(Value::tuple({k, v}));
  std::size_t pos = by == "key" ? 0 : 1;
  return Value::list(sorted(items, [&](const Value& item) { return lowered(item.items()[pos], case_sensitive); }, reverse));
}

Value unique_filter(const Value& value, const CallArgs& args) {
  auto key = key_function(args, 0, 1);
  List seen;
  List out;
  for (const Value& item : iterate(value)) {
    Value k = key(item);
    if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, k); })) {
      seen.push_back(k);
      out.push_back(item);
    }
  }
  return Value::list(std::move(out));
}

Value batch_filter(const Value& value, const CallArgs& args) {
  std::int64_t count = args.integer(0, "linecount", 1);
  if (count <= 0) raise("ValueError: batch needs a positive line count");
  const Value* fill = args.get(1, "fill_with");
  List out;
  List row;
  for (const Value& item : iterate(value)) {
    if (static_cast<std::int64_t>(row.size()) == count) {
      out.push_back(Value::list(row));
      row.clear();
    }
    row.push_back(item);
  }
  if (!row.empty()) {
    while (fill && !fill->is_none() && static_cast<std::int64_t>(row.size()) < count) row.push_back(*fill);
    out.push_back(Value::list(row));
  }
  return Value::list(std::move(out));
}

Value tojson_filter(const Value& value, const CallArgs& args) {
  const Value* indent = args.get(1, "indent");
  const Value* separators = args.get(2, "separators");
  return Value::string(to_json(value, args.flag(0, "ensure_ascii", false), indent ? *indent : Value::none(),
                               separators ? *separators : Value::none(), args.flag(3, "sort_keys", false)));
}

const std::map<std::string, Filter>& filters() {
  static const std::map<std::string, Filter> table = [] {
    std::map<std::string, Filter> t;
    t["trim"] = [](const Value& v, const CallArgs& a) {
      const Value* chars = a.get(0, "chars");
      std::string set = chars && !chars->is_none() ? to_str(*chars) : "";
      return Value::string(strip(to_str(v), chars && !chars->is_none() ? &set : nullptr, 'b'));
    };
    t["length"] = [](const Value& v, const CallArgs&) { return Value::integer(length(v)); };
    t["count"] = t["length"];
    t["list"] = [](const Value& v, const CallArgs&) { return Value::list(iterate(v)); };
    t["first"] = [](const Value& v, const CallArgs&) {
      List items = iterate(v);
      return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
    };
    t["last"] = [](const Value& v, const CallArgs&) {
      List items = iterate(v);
      return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
    };
    t["join"] = [](const Value& v, const CallArgs& a) {
      std::string sep = a.text(0, "d", "");
      std::string path = a.text(1, "attribute", "");
      std::string out;
      bool first = true;
      for (const Value& item : iterate(v)) {
        if (!first) out += sep;
        first = false;
        out += to_str(path.empty() ? item : attribute_path(item, path));
      }
      return Value::string(out);
    };
    t["map"] = map_filter;
    t["select"] = [](const Value& v, const CallArgs& a) { return select(v, a, false, true); };
    t["reject"] = [](const Value& v, const CallArgs& a) { return select(v, a, false, false); };
    t["selectattr"] = [](const Value& v, const CallArgs& a) { return select(v, a, true, true); };
    t["rejectattr"] = [](const Value& v, const CallArgs& a) { return select(v, a, true, false); };
    t["tojson"] = tojson_filter;
    t["string"] = [](const Value& v, const CallArgs&) { return Value::string(to_str(v)); };
    t["safe"] = t["string"];
    t["int"] = int_filter;
    t["float"] = float_filter;
    t["lower"] = [](const Value& v, const CallArgs&) { return Value::string(lower(to_str(v))); };
    t["upper"] = [](const Value& v, const CallArgs&) { return Value::string(upper(to_str(v))); };
    t["title"] = [](const Value& v, const CallArgs&) { return title_filter(v); };
    t["capitalize"] = [](const Value& v, const CallArgs&) { return Value::string(capitalize(to_str(v))); };
    t["replace"] = [](const Value& v, const CallArgs& a) {
      return Value::string(replace(to_str(v), a.text(0, "old", ""), a.text(1, "new", ""), a.integer(2, "count", -1)));
    };
    t["default"] = [](const Value& v, const CallArgs& a) {
      const Value* fallback = a.get(0, "default_value");
      bool use = v.is_undefined() || (a.flag(1, "boolean", false) && !truthy(v));
      return use ? (fallback ? *fallback : Value::string("")) : v;
    };
    t["d"] = t["default"];
    t["items"] = [](const Value& v, const CallArgs&) {
      if (v.is_undefined()) return Value::list();
      if (!v.is_mapping()) raise("TypeError: Can only get item pairs from a mapping.");
      List out;
      for (const auto& [k, item] : v.dict_ref().entries) out.push_back(Value::tuple({k, item}));
      return Value::list(std::move(out));
    };
    t["dictsort"] = dictsort_filter;
    t["sort"] = [](const Value& v, const CallArgs& a) {
      return Value::list(sorted(iterate(v), key_function(a, 1, 2), a.flag(0, "reverse", false)));
    };
    t["unique"] = unique_filter;
    t["reverse"] = [](const Value& v, const CallArgs&) {
      Value step = Value::integer(-1);
      if (v.is_string()) return get_slice(v, nullptr, nullptr, &step);
      List items = iterate(v);
      std::reverse(items.begin(), items.end());
      return Value::list(std::move(items));
    };
    t["indent"] = indent_filter;
    t["round"] = round_filter;
    t["abs"] = [](const Value& v, const CallArgs&) {
      if (v.kind() == Value::Kind::Float) return Value::floating(std::fabs(v.as_float()));
      if (v.is_number()) return Value::integer(std::llabs(v.as_int()));
      raise("TypeError: bad operand type for abs(): '" + type_name(v) + "'");
    };
    t["sum"] = [](const Value& v, const CallArgs& a) {
      std::string path = a.text(0, "attribute", "");
      const Value* start = a.get(1, "start");
      Value total = start ? *start : Value::integer(0);
      for (const Value& item : iterate(v)) total = binary_op("+", total, path.empty() ? item : attribute_path(item, path));
      return total;
    };
    t["min"] = [](const Value& v, const CallArgs& a) { return min_max(v, a, false); };
    t["max"] = [](const Value& v, const CallArgs& a) { return min_max(v, a, true); };
    t["format"] = [](const Value& v, const CallArgs& a) {
      if (!a.keyword.empty()) raise("FilterArgumentError: format with keyword arguments is not supported");
      return binary_op("%", Value::string(to_str(v)), Value::tuple(a.positional));
    };
    t["wordcount"] = [](const Value& v, const CallArgs&) { return wordcount_filter(v); };
    t["center"] = [](const Value& v, const CallArgs& a) {
      CallArgs width;
      width.positional.push_back(Value::integer(a.integer(0, "width", 80)));
      return get_attribute(Value::string(to_str(v)), "center").fn().fn(width);
    };
    t["batch"] = batch_filter;
    t["truncate"] = truncate_filter;
    return t;
  }();
  return table;
}

}  // namespace

bool has_filter(const std::string& name) { return filters().count(name) > 0; }

Value apply_filter(const std::string& name, const Value& subject, const CallArgs& args) {
  auto it = filters().find(name);
  if (it == filters().end()) raise("TemplateRuntimeError: No filter named '" + name + "'.");
  return it->second(subject, args);
}

}  // namespace talon::text::jinja
