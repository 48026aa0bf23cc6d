// Python's arithmetic, comparison and membership on template values.
#include <cmath>

#include "talon/text/jinja/builtins.h"

namespace talon::text::jinja {
namespace {

[[noreturn]] void unsupported(const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined() || b.is_undefined()) raise("UndefinedError: " + (a.is_undefined() ? a : b).str());
  raise("TypeError: unsupported operand type(s) for " + op + ": '" + type_name(a) + "' and '" + type_name(b) + "'");
}

// Python's ints are unbounded; Talon's are 64-bit and say so rather than wrap.
std::int64_t checked(bool overflowed, const std::int64_t& result) {
  if (overflowed) raise("OverflowError: the integer result does not fit in 64 bits (Python's would)");
  return result;
}

// base ** exp for exp >= 0, by squaring.
std::int64_t int_pow(std::int64_t base, std::int64_t exp) {
  std::int64_t result = 1;
  while (exp > 0) {
    if (exp & 1) checked(__builtin_mul_overflow(result, base, &result), result);
    exp >>= 1;
    if (exp > 0) checked(__builtin_mul_overflow(base, base, &base), base);
  }
  return result;
}

bool is_int(const Value& v) { return v.kind() == Value::Kind::Int || v.kind() == Value::Kind::Bool; }

Value repeat(const Value& seq, std::int64_t times) {
  if (seq.is_string()) {
    std::string out;
    for (std::int64_t i = 0; i < times; ++i) out += seq.str();
    return Value::string(out);
  }
  List out;
  for (std::int64_t i = 0; i < times; ++i) out.insert(out.end(), seq.items().begin(), seq.items().end());
  return seq.kind() == Value::Kind::List ? Value::list(out) : Value::tuple(out);
}

// CPython's float floor division (float_floor_div): exact where floor(a / b)
// is not (1 // 0.1 is 9.0).
double python_floor_div(double a, double b) {
  double mod = std::fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1.0;
  if (div == 0) return std::copysign(0.0, a / b);
  double floored = std::floor(div);
  return div - floored > 0.5 ? floored + 1.0 : floored;
}

double python_fmod(double a, double b) {
  double m = std::fmod(a, b);
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return m;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// `format % args` for the conversions templates use: %s %r %d %i %f %%.
Value percent_format(const std::string& format, const Value& args) {
  // Python takes a dict or list argument for %(name)s fields: never "left over".
  bool mapping = args.is_mapping() || args.kind() == Value::Kind::List;
  List values = args.kind() == Value::Kind::Tuple ? args.items() : mapping ? List{} : List{args};
  std::string out;
  std::size_t next = 0;
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    if (++i == format.size()) raise("ValueError: incomplete format");
    char c = format[i];
    if (c == '%') {
      out += '%';
      continue;
    }
    if (next >= values.size()) raise("TypeError: not enough arguments for format string");
    const Value& v = values[next++];
    if (c == 's') {
      out += to_str(v);
    } else if (c == 'r') {
      out += repr(v);
    } else if ((c == 'd' || c == 'i') && v.is_number()) {
      out += std::to_string(v.kind() == Value::Kind::Float ? static_cast<std::int64_t>(v.as_float()) : v.as_int());
    } else if (c == 'f' && v.is_number()) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.6f", v.as_float());
      out += buf;
    } else {
      raise(std::string("ValueError: the format conversion '%") + c + "' is not supported");
    }
  }
  if (next < values.size() && !mapping) raise("TypeError: not all arguments converted during string formatting");
  return Value::string(out);
}

}  // namespace

Value binary_op(const std::string& op, const Value& a, const Value& b) {
  if (op == "~") {
    if (a.is_undefined() && a.unsafe()) raise("SecurityError: " + a.str());
    return Value::string(to_str(a) + to_str(b));
  }
  bool numbers = a.is_number() && b.is_number();
  bool ints = numbers && is_int(a) && is_int(b);
  if (op == "+") {
    std::int64_t r = 0;
    if (ints) return Value::integer(checked(__builtin_add_overflow(a.as_int(), b.as_int(), &r), r));
    if (numbers) return Value::floating(a.as_float() + b.as_float());
    if (a.is_string() && b.is_string()) return Value::string(a.str() + b.str());
    if (a.is_sequence() && a.kind() == b.kind()) {
      List out = a.items();
      out.insert(out.end(), b.items().begin(), b.items().end());
      return a.kind() == Value::Kind::List ? Value::list(out) : Value::tuple(out);
    }
  } else if (op == "-") {
    std::int64_t r = 0;
    if (ints) return Value::integer(checked(__builtin_sub_overflow(a.as_int(), b.as_int(), &r), r));
    if (numbers) return Value::floating(a.as_float() - b.as_float());
  } else if (op == "*") {
    std::int64_t r = 0;
    if (ints) return Value::integer(checked(__builtin_mul_overflow(a.as_int(), b.as_int(), &r), r));
    if (numbers) return Value::floating(a.as_float() * b.as_float());
    if ((a.is_string() || a.is_sequence()) && is_int(b)) return repeat(a, b.as_int());
    if ((b.is_string() || b.is_sequence()) && is_int(a)) return repeat(b, a.as_int());
  } else if (op == "/") {
    if (numbers) {
      if (b.as_float() == 0) raise("ZeroDivisionError: division by zero");
      return Value::floating(a.as_float() / b.as_float());
    }
  } else if (op == "//") {
    if (numbers && b.as_float() == 0) raise("ZeroDivisionError: integer division or modulo by zero");
    if (ints) return Value::integer(floor_div(a.as_int(), b.as_int()));
    if (numbers) return Value::floating(python_floor_div(a.as_float(), b.as_float()));
  } else if (op == "%") {
    if (a.is_string()) return percent_format(a.str(), b);
    if (numbers && b.as_float() == 0) raise("ZeroDivisionError: integer modulo by zero");
    if (ints) return Value::integer(a.as_int() - floor_div(a.as_int(), b.as_int()) * b.as_int());
    if (numbers) return Value::floating(python_fmod(a.as_float(), b.as_float()));
  } else if (op == "**") {
    if (ints && b.as_int() >= 0) {
      return Value::integer(int_pow(a.as_int(), b.as_int()));
    }
    if (numbers) {
      double base = a.as_float(), exponent = b.as_float();
      if (base == 0 && exponent < 0) raise("ZeroDivisionError: 0.0 cannot be raised to a negative power");
      // Python answers a complex number here; templates have no use for one.
      if (base < 0 && exponent != std::floor(exponent)) {
        raise("ValueError: a negative number to a fractional power is complex in Python; Talon does not compute it");
      }
      return Value::floating(std::pow(base, exponent));
    }
  }
  unsupported(op, a, b);
}

bool compare_op(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return equals(a, b);
  if (op == "!=") return !equals(a, b);
  if (op == "in" || op == "not in") {
    bool found = false;
    if (b.is_string()) {
      if (!a.is_string()) raise("TypeError: 'in <string>' requires string as left operand, not " + type_name(a));
      found = b.str().find(a.str()) != std::string::npos;
    } else if (b.is_sequence()) {
      for (const Value& item : b.items()) found = found || equals(item, a);
    } else if (b.is_mapping()) {
      if (a.is_sequence() && a.kind() == Value::Kind::List) raise("TypeError: unhashable type: 'list'");
      if (a.is_mapping()) raise("TypeError: unhashable type: 'dict'");
      found = b.dict_ref().find(a) != nullptr;
    } else if (!b.is_undefined()) {
      raise("TypeError: argument of type '" + type_name(b) + "' is not iterable");
    }
    return found == (op == "in");
  }
  if (a.is_undefined() || b.is_undefined()) raise("UndefinedError: " + (a.is_undefined() ? a : b).str());
  if (!(a.is_number() && b.is_number()) && !(a.is_string() && b.is_string()) &&
      !(a.is_sequence() && a.kind() == b.kind())) {
    raise("TypeError: '" + op + "' not supported between instances of '" + type_name(a) + "' and '" + type_name(b) + "'");
  }
  int c = compare(a, b);
  if (op == "<") return c < 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  return c >= 0;
}

}  // namespace talon::text::jinja
