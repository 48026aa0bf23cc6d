// Jinja2's built-in tests (`x is defined`, `x is divisibleby 3`, ...).
#include <functional>
#include <map>

#include "talon/text/jinja/builtins.h"
#include "talon/text/jinja/python_str.h"

namespace talon::text::jinja {
namespace {

using Test = std::function<bool(const Value&, const CallArgs&)>;

const Value& other(const CallArgs& args) {
  if (args.positional.empty()) raise("TypeError: the test needs an argument");
  return args.positional[0];
}

Test comparison(const char* op) {
  return [op](const Value& v, const CallArgs& a) { return compare_op(op, v, other(a)); };
}


Value modulo(const Value& v, const Value& n) { return binary_op("%", v, n); }

bool same_object(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::None:
    case Value::Kind::Undefined: return true;
    case Value::Kind::Bool:
    case Value::Kind::Int:
    case Value::Kind::Float:
    case Value::Kind::String: return equals(a, b);
    default: return a.identity() == b.identity();
  }
}

const std::map<std::string, Test>& tests() {
  static const std::map<std::string, Test> table = [] {
    std::map<std::string, Test> t;
    t["defined"] = [](const Value& v, const CallArgs&) { return !v.is_undefined(); };
    t["undefined"] = [](const Value& v, const CallArgs&) { return v.is_undefined(); };
    t["none"] = [](const Value& v, const CallArgs&) { return v.is_none(); };
    t["string"] = [](const Value& v, const CallArgs&) { return v.is_string(); };
    t["number"] = [](const Value& v, const CallArgs&) { return v.is_number(); };
    t["integer"] = [](const Value& v, const CallArgs&) { return v.kind() == Value::Kind::Int; };
    t["float"] = [](const Value& v, const CallArgs&) { return v.kind() == Value::Kind::Float; };
    t["boolean"] = [](const Value& v, const CallArgs&) { return v.kind() == Value::Kind::Bool; };
    t["true"] = [](const Value& v, const CallArgs&) { return v.kind() == Value::Kind::Bool && v.as_bool(); };
    t["false"] = [](const Value& v, const CallArgs&) { return v.kind() == Value::Kind::Bool && !v.as_bool(); };
    t["mapping"] = [](const Value& v, const CallArgs&) { return v.is_mapping(); };
    t["iterable"] = [](const Value& v, const CallArgs&) {
      return v.is_undefined() || v.is_string() || v.is_sequence() || v.is_mapping() || v.kind() == Value::Kind::Loop;
    };
    t["sequence"] = [](const Value& v, const CallArgs&) {
      return v.is_undefined() || v.is_string() || v.is_sequence() || v.is_mapping();
    };
    // Jinja2's Undefined has a __call__ (that raises), so it is callable.
    t["callable"] = [](const Value& v, const CallArgs&) {
      return v.kind() == Value::Kind::Callable || v.kind() == Value::Kind::Loop || v.is_undefined();
    };
    t["equalto"] = comparison("==");
    t["eq"] = t["equalto"];
    t["=="] = t["equalto"];
    t["ne"] = comparison("!=");
    t["!="] = t["ne"];
    t["lt"] = comparison("<");
    t["lessthan"] = t["lt"];
    t["<"] = t["lt"];
    t["le"] = comparison("<=");
    t["<="] = t["le"];
    t["gt"] = comparison(">");
    t["greaterthan"] = t["gt"];
    t[">"] = t["gt"];
    t["ge"] = comparison(">=");
    t[">="] = t["ge"];
    t["in"] = [](const Value& v, const CallArgs& a) { return compare_op("in", v, other(a)); };
    t["sameas"] = [](const Value& v, const CallArgs& a) { return same_object(v, other(a)); };
    t["odd"] = [](const Value& v, const CallArgs&) { return equals(modulo(v, Value::integer(2)), Value::integer(1)); };
    t["even"] = [](const Value& v, const CallArgs&) { return equals(modulo(v, Value::integer(2)), Value::integer(0)); };
    t["divisibleby"] = [](const Value& v, const CallArgs& a) {
      return equals(modulo(v, other(a)), Value::integer(0));
    };
    t["lower"] = [](const Value& v, const CallArgs&) { return char_class(to_str(v), "islower"); };
    t["upper"] = [](const Value& v, const CallArgs&) { return char_class(to_str(v), "isupper"); };
    t["filter"] = [](const Value& v, const CallArgs&) { return v.is_string() && has_filter(v.str()); };
    t["test"] = [](const Value& v, const CallArgs&) { return v.is_string() && has_test(v.str()); };
    return t;
  }();
  return table;
}

}  // namespace

bool has_test(const std::string& name) { return tests().count(name) > 0; }

bool apply_test(const std::string& name, const Value& subject, const CallArgs& args) {
  auto it = tests().find(name);
  if (it == tests().end()) raise("TemplateRuntimeError: No test named '" + name + "'.");
  return it->second(subject, args);
}

}  // namespace talon::text::jinja
