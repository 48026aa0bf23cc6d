// The template's context in, and transformers' tojson filter out.
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "talon/text/jinja/builtins.h"
#include "talon/util/utf8.h"

namespace talon::text::jinja {

Value from_json(const nlohmann::ordered_json& json) {
  switch (json.type()) {
    case nlohmann::json::value_t::null: return Value::none();
    case nlohmann::json::value_t::boolean: return Value::boolean(json.get<bool>());
    case nlohmann::json::value_t::number_integer: return Value::integer(json.get<std::int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      if (json.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
        raise("the context holds the integer " + json.dump() + ", beyond the 64-bit integers templates compute with");
      }
      return Value::integer(json.get<std::int64_t>());
    case nlohmann::json::value_t::number_float: return Value::floating(json.get<double>());
    case nlohmann::json::value_t::string: {
      auto s = json.get<std::string>();
      if (!util::is_valid_utf8(s)) raise("the context holds a string that is not valid UTF-8");
      return Value::string(std::move(s));
    }
    case nlohmann::json::value_t::array: {
      List items;
      for (const auto& item : json) items.push_back(from_json(item));
      return Value::list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Value d = Value::dict();
      for (const auto& [key, value] : json.items()) {
        if (!util::is_valid_utf8(key)) raise("the context holds a key that is not valid UTF-8");
        d.dict_ref().entries.emplace_back(Value::string(key), from_json(value));
      }
      return d;
    }
    default: raise("the context holds a value JSON cannot hold (" + std::string(json.type_name()) + ")");
  }
}

namespace {

void append_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    util::CodePoint cp = util::decode_code_point(s, i);
    char32_t c = cp.value;
    char buf[16];
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20 || (ensure_ascii && c >= 0x7F)) {
          if (c >= 0x10000) {
            char32_t v = c - 0x10000;
            std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 + (v >> 10)),
                          static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
          } else {
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          }
          out += buf;
        } else {
          out.append(s, i, cp.length);
        }
    }
    i += cp.length;
  }
  out += '"';
}

struct JsonWriter {
  bool ensure_ascii;
  std::string indent;  // per level; absent when !pretty
  bool pretty;
  std::string item_separator;
  std::string key_separator;
  bool sort_keys;

  void newline(std::string& out, int level) const {
    if (!pretty) return;
    out += '\n';
    for (int i = 0; i < level; ++i) out += indent;
  }

  std::string key_text(const Value& k) const {
    switch (k.kind()) {
      case Value::Kind::String: return k.str();
      case Value::Kind::None: return "null";
      case Value::Kind::Bool: return k.as_bool() ? "true" : "false";
      case Value::Kind::Int: return std::to_string(k.as_int());
      case Value::Kind::Float: return float_repr(k.as_float());
      default: raise("TypeError: keys must be str, int, float, bool or None, not " + type_name(k));
    }
  }

  void write(std::string& out, const Value& v, int level) const {
    switch (v.kind()) {
      case Value::Kind::None: out += "null"; return;
      case Value::Kind::Bool: out += v.as_bool() ? "true" : "false"; return;
      case Value::Kind::Int: out += std::to_string(v.as_int()); return;
      case Value::Kind::Float: {
        double f = v.as_float();
        out += std::isnan(f) ? "NaN" : std::isinf(f) ? (f > 0 ? "Infinity" : "-Infinity") : float_repr(f);
        return;
      }
      case Value::Kind::String: append_string(out, v.str(), ensure_ascii); return;
      case Value::Kind::List:
      case Value::Kind::Tuple: {
        if (v.items().empty()) {
          out += "[]";
          return;
        }
        out += '[';
        for (std::size_t i = 0; i < v.items().size(); ++i) {
          if (i) out += item_separator;
          newline(out, level + 1);
          write(out, v.items()[i], level + 1);
        }
        newline(out, level);
        out += ']';
        return;
      }
      case Value::Kind::Dict: {
        if (v.dict_ref().entries.empty()) {
          out += "{}";
          return;
        }
        std::vector<std::pair<std::string, const Value*>> entries;
        for (const auto& [k, item] : v.dict_ref().entries) entries.emplace_back(key_text(k), &item);
        if (sort_keys) {
          std::stable_sort(entries.begin(), entries.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
        }
        out += '{';
        for (std::size_t i = 0; i < entries.size(); ++i) {
          if (i) out += item_separator;
          newline(out, level + 1);
          append_string(out, entries[i].first, ensure_ascii);
          out += key_separator;
          write(out, *entries[i].second, level + 1);
        }
        newline(out, level);
        out += '}';
        return;
      }
      default: raise("TypeError: Object of type " + type_name(v) + " is not JSON serializable");
    }
  }
};

}  // namespace

std::string to_json(const Value& v, bool ensure_ascii, const Value& indent, const Value& separators, bool sort_keys) {
  JsonWriter w{ensure_ascii, "", !indent.is_none() && !indent.is_undefined(), ", ", ": ", sort_keys};
  if (w.pretty) {
    w.item_separator = ",";
    if (indent.is_string()) {
      w.indent = indent.str();
    } else if (indent.kind() == Value::Kind::Int) {
      w.indent = std::string(static_cast<std::size_t>(std::max<std::int64_t>(0, indent.as_int())), ' ');
    } else {
      raise("TypeError: tojson's indent must be an int or a str, not " + type_name(indent));
    }
  }
  if (!separators.is_none() && !separators.is_undefined()) {
    if (!separators.is_sequence() || separators.items().size() != 2 || !separators.items()[0].is_string() ||
        !separators.items()[1].is_string()) {
      raise("ValueError: tojson's separators must be a pair of strings");
    }
    w.item_separator = separators.items()[0].str();
    w.key_separator = separators.items()[1].str();
  }
  std::string out;
  w.write(out, v, 0);
  return out;
}

}  // namespace talon::text::jinja
