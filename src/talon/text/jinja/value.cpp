#include "talon/text/jinja/value.h"

#include <utf8proc.h>

#include <charconv>
#include <cmath>
#include <cstdio>

#include "talon/text/jinja/python_str.h"
#include "talon/util/utf8.h"

namespace talon::text::jinja {

void raise(std::string message) { throw Failure{std::move(message)}; }

Value Value::undefined(std::string hint, bool unsafe) {
  Value v;
  v.s_ = std::move(hint);
  v.b_ = unsafe;
  return v;
}
Value Value::none() {
  Value v;
  v.kind_ = Kind::None;
  return v;
}
Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::Bool;
  v.b_ = b;
  return v;
}
Value Value::integer(std::int64_t i) {
  Value v;
  v.kind_ = Kind::Int;
  v.i_ = i;
  return v;
}
Value Value::floating(double f) {
  Value v;
  v.kind_ = Kind::Float;
  v.f_ = f;
  return v;
}
Value Value::string(std::string s) {
  Value v;
  v.kind_ = Kind::String;
  v.s_ = std::move(s);
  return v;
}
Value Value::list(List items) {
  Value v;
  v.kind_ = Kind::List;
  v.list_ = std::make_shared<List>(std::move(items));
  return v;
}
Value Value::tuple(List items) {
  Value v = list(std::move(items));
  v.kind_ = Kind::Tuple;
  return v;
}
Value Value::dict(std::shared_ptr<Dict> d) {
  Value v;
  v.kind_ = Kind::Dict;
  v.dict_ = std::move(d);
  return v;
}
Value Value::dict() { return dict(std::make_shared<Dict>()); }
Value Value::namespace_(std::shared_ptr<Dict> d) {
  Value v = dict(std::move(d));
  v.kind_ = Kind::Namespace;
  return v;
}
Value Value::callable(std::string name, std::function<Value(CallArgs&)> fn) {
  Value v;
  v.kind_ = Kind::Callable;
  v.fn_ = std::make_shared<Callable>(Callable{std::move(name), std::move(fn)});
  return v;
}
Value Value::loop(std::shared_ptr<LoopState> state) {
  Value v;
  v.kind_ = Kind::Loop;
  v.loop_ = std::move(state);
  return v;
}

const void* Value::identity() const {
  if (list_) return list_.get();
  if (dict_) return dict_.get();
  if (fn_) return fn_.get();
  return loop_.get();
}

const Value* Dict::find(const Value& key) const {
  for (const auto& [k, v] : entries) {
    if (equals(k, key)) return &v;
  }
  return nullptr;
}
Value* Dict::find(const Value& key) { return const_cast<Value*>(static_cast<const Dict*>(this)->find(key)); }
void Dict::set(const Value& key, Value value) {
  if (Value* slot = find(key)) {
    *slot = std::move(value);
  } else {
    entries.emplace_back(key, std::move(value));
  }
}

const Value* CallArgs::get(std::size_t index, const std::string& name) const {
  for (const auto& [k, v] : keyword) {
    if (k == name) return &v;
  }
  return index < positional.size() ? &positional[index] : nullptr;
}

std::int64_t CallArgs::integer(std::size_t index, const char* name, std::int64_t fallback) const {
  const Value* v = get(index, name);
  if (!v || v->is_none()) return fallback;
  if (v->kind() != Value::Kind::Int && v->kind() != Value::Kind::Bool) {
    raise(std::string("TypeError: ") + name + " must be an integer, not " + type_name(*v));
  }
  return v->as_int();
}

bool CallArgs::flag(std::size_t index, const char* name, bool fallback) const {
  const Value* v = get(index, name);
  return v ? truthy(*v) : fallback;
}

std::string CallArgs::text(std::size_t index, const char* name, const std::string& fallback) const {
  const Value* v = get(index, name);
  return v && !v->is_none() ? to_str(*v) : fallback;
}

const std::string* CallArgs::optional_string(std::size_t index, const char* name) const {
  const Value* v = get(index, name);
  if (!v || v->is_none()) return nullptr;
  if (!v->is_string()) raise(std::string("TypeError: ") + name + " must be str or None, not " + type_name(*v));
  return &v->str();
}

const std::string& CallArgs::string(std::size_t index, const char* name) const {
  const Value* v = get(index, name);
  if (!v) raise(std::string("TypeError: missing argument '") + name + "'");
  if (!v->is_string()) raise(std::string("TypeError: ") + name + " must be str, not " + type_name(*v));
  return v->str();
}

std::string type_name(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return "Undefined";
    case Value::Kind::None: return "NoneType";
    case Value::Kind::Bool: return "bool";
    case Value::Kind::Int: return "int";
    case Value::Kind::Float: return "float";
    case Value::Kind::String: return "str";
    case Value::Kind::List: return "list";
    case Value::Kind::Tuple: return "tuple";
    case Value::Kind::Dict: return "dict";
    case Value::Kind::Namespace: return "Namespace";
    case Value::Kind::Callable: return "function";
    case Value::Kind::Loop: return "LoopContext";
  }
  return "object";
}

bool truthy(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined:
    case Value::Kind::None: return false;
    case Value::Kind::Bool: return v.as_bool();
    case Value::Kind::Int: return v.as_int() != 0;
    case Value::Kind::Float: return v.as_float() != 0;
    case Value::Kind::String: return !v.str().empty();
    case Value::Kind::List:
    case Value::Kind::Tuple: return !v.items().empty();
    case Value::Kind::Dict: return !v.dict_ref().entries.empty();
    default: return true;
  }
}

// Python's float repr: the shortest digits that round-trip, in positional
// notation when the decimal exponent is in [-4, 16), else as 1e-05.
std::string float_repr(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
  std::string sci(buf, result.ptr);
  std::size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  int exponent = std::stoi(sci.substr(e + 1));
  bool negative = mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits += c;
  }
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp[16];
    std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return out + exp;
  }
  if (exponent < 0) return out + "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
  auto point = static_cast<std::size_t>(exponent + 1);
  if (digits.size() <= point) return out + digits + std::string(point - digits.size(), '0') + ".0";
  return out + digits.substr(0, point) + "." + digits.substr(point);
}

namespace {

bool printable(char32_t cp) {
  if (cp == ' ') return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS: case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP: case UTF8PROC_CATEGORY_ZS:
      return false;
    default:
      return true;
  }
}

std::string string_repr(const std::string& s) {
  char quote = s.find('\'') != std::string::npos && s.find('"') == std::string::npos ? '"' : '\'';
  std::string out(1, quote);
  for (std::size_t i = 0; i < s.size();) {
    util::CodePoint cp = util::decode_code_point(s, i);
    char32_t c = cp.value;
    if (c == '\\' || c == static_cast<char32_t>(quote)) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (!printable(c)) {
      char buf[16];
      std::snprintf(buf, sizeof buf, c < 0x100 ? "\\x%02x" : c < 0x10000 ? "\\u%04x" : "\\U%08x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out.append(s, i, cp.length);
    }
    i += cp.length;
  }
  return out + quote;
}

std::string items_repr(const List& items, const char* open, const char* close, bool tuple) {
  std::string out = open;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += repr(items[i]);
  }
  if (tuple && items.size() == 1) out += ",";
  return out + close;
}

std::string dict_repr(const Dict& d) {
  std::string out = "{";
  for (std::size_t i = 0; i < d.entries.size(); ++i) {
    if (i) out += ", ";
    out += repr(d.entries[i].first) + ": " + repr(d.entries[i].second);
  }
  return out + "}";
}

}  // namespace

std::string to_str(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return "";
    case Value::Kind::None: return "None";
    case Value::Kind::Bool: return v.as_bool() ? "True" : "False";
    case Value::Kind::Int: return std::to_string(v.as_int());
    case Value::Kind::Float: return float_repr(v.as_float());
    case Value::Kind::String: return v.str();
    case Value::Kind::List: return items_repr(v.items(), "[", "]", false);
    case Value::Kind::Tuple: return items_repr(v.items(), "(", ")", true);
    case Value::Kind::Dict: return dict_repr(v.dict_ref());
    case Value::Kind::Namespace: return "<Namespace " + dict_repr(v.dict_ref()) + ">";
    case Value::Kind::Callable: return "<function " + v.fn().name + ">";
    case Value::Kind::Loop: return "<LoopContext>";
  }
  return "";
}

std::string repr(const Value& v) {
  if (v.is_string()) return string_repr(v.str());
  if (v.is_undefined()) return "Undefined";
  return to_str(v);
}

bool equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind() == Value::Kind::Float || b.kind() == Value::Kind::Float) return a.as_float() == b.as_float();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::Undefined:
    case Value::Kind::None: return true;
    case Value::Kind::String: return a.str() == b.str();
    case Value::Kind::List:
    case Value::Kind::Tuple: {
      if (a.items().size() != b.items().size()) return false;
      for (std::size_t i = 0; i < a.items().size(); ++i) {
        if (!equals(a.items()[i], b.items()[i])) return false;
      }
      return true;
    }
    case Value::Kind::Dict: {
      const Dict& da = a.dict_ref();
      const Dict& db = b.dict_ref();
      if (da.entries.size() != db.entries.size()) return false;
      for (const auto& [k, v] : da.entries) {
        const Value* other = db.find(k);
        if (!other || !equals(v, *other)) return false;
      }
      return true;
    }
    default: return a.identity() == b.identity();
  }
}

int compare(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind() == Value::Kind::Float || b.kind() == Value::Kind::Float) {
      return a.as_float() < b.as_float() ? -1 : a.as_float() > b.as_float() ? 1 : 0;
    }
    return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) return a.str() < b.str() ? -1 : a.str() > b.str() ? 1 : 0;
  if (a.is_sequence() && a.kind() == b.kind()) {
    const List& x = a.items();
    const List& y = b.items();
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!equals(x[i], y[i])) return compare(x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  raise("TypeError: '<' not supported between instances of '" + type_name(a) + "' and '" + type_name(b) + "'");
}

List iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return {};
    case Value::Kind::String: {
      List out;
      for (std::string& cp : code_points(v.str())) out.push_back(Value::string(std::move(cp)));
      return out;
    }
    case Value::Kind::List:
    case Value::Kind::Tuple: return v.items();
    case Value::Kind::Dict: {
      List out;
      for (const auto& entry : v.dict_ref().entries) out.push_back(entry.first);
      return out;
    }
    default: raise("TypeError: '" + type_name(v) + "' object is not iterable");
  }
}

std::int64_t length(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return 0;
    case Value::Kind::String: return code_point_count(v.str());
    case Value::Kind::List:
    case Value::Kind::Tuple: return static_cast<std::int64_t>(v.items().size());
    case Value::Kind::Dict: return static_cast<std::int64_t>(v.dict_ref().entries.size());
    default: raise("TypeError: object of type '" + type_name(v) + "' has no len()");
  }
}

}  // namespace talon::text::jinja
