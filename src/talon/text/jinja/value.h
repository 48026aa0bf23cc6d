// The values a chat template computes with, as Python sees them inside
// Jinja2: None, bool, int, float, str (UTF-8), list, tuple, dict (insertion
// ordered), Jinja's Undefined, namespace(), callables (globals, filters'
// helpers, bound methods, macros) and the `loop` object.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace talon::text::jinja {

// A runtime failure without a line; the interpreter adds source name and line.
struct Failure {
  std::string message;
};
[[noreturn]] void raise(std::string message);

class Value;
using List = std::vector<Value>;
struct Dict;
struct Callable;
struct LoopState;

class Value {
 public:
  enum class Kind { Undefined, None, Bool, Int, Float, String, List, Tuple, Dict, Namespace, Callable, Loop };

  Value() = default;  // Undefined
  static Value undefined(std::string hint = "", bool unsafe = false);
  static Value none();
  static Value boolean(bool b);
  static Value integer(std::int64_t i);
  static Value floating(double f);
  static Value string(std::string s);
  static Value list(List items = {});
  static Value tuple(List items);
  static Value dict(std::shared_ptr<Dict> d);
  static Value dict();
  static Value namespace_(std::shared_ptr<Dict> d);
  static Value callable(std::string name, std::function<Value(struct CallArgs&)> fn);
  static Value loop(std::shared_ptr<LoopState> state);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::Undefined; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_number() const { return kind_ == Kind::Int || kind_ == Kind::Float || kind_ == Kind::Bool; }
  bool is_sequence() const { return kind_ == Kind::List || kind_ == Kind::Tuple; }
  bool is_mapping() const { return kind_ == Kind::Dict; }

  bool as_bool() const { return b_; }
  std::int64_t as_int() const { return kind_ == Kind::Bool ? (b_ ? 1 : 0) : i_; }
  double as_float() const { return kind_ == Kind::Float ? f_ : static_cast<double>(as_int()); }
  const std::string& str() const { return s_; }  // String; Undefined: the name it stands for
  bool unsafe() const { return b_ && kind_ == Kind::Undefined; }
  List& items() const { return *list_; }  // List, Tuple
  Dict& dict_ref() const { return *dict_; }  // Dict, Namespace
  const std::shared_ptr<Dict>& dict_ptr() const { return dict_; }
  Callable& fn() const { return *fn_; }
  LoopState& loop_state() const { return *loop_; }
  const void* identity() const;  // the shared object of a container, for `is sameas`

 private:
  Kind kind_ = Kind::Undefined;
  bool b_ = false;
  std::int64_t i_ = 0;
  double f_ = 0;
  std::string s_;
  std::shared_ptr<List> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<Callable> fn_;
  std::shared_ptr<LoopState> loop_;
};

struct Dict {
  std::vector<std::pair<Value, Value>> entries;
  const Value* find(const Value& key) const;
  Value* find(const Value& key);
  void set(const Value& key, Value value);
};

struct CallArgs {
  // The index of an argument that can only be passed by keyword.
  static constexpr std::size_t kKeywordOnly = static_cast<std::size_t>(-1);

  List positional;
  std::vector<std::pair<std::string, Value>> keyword;
  // The argument named `name`, or at `index` if passed positionally; nullptr
  // when absent.
  const Value* get(std::size_t index, const std::string& name) const;
  // Typed arguments (raising Python's TypeError for a wrong type); absent or
  // None gives `fallback`.
  std::int64_t integer(std::size_t index, const char* name, std::int64_t fallback) const;
  bool flag(std::size_t index, const char* name, bool fallback) const;  // truthiness
  std::string text(std::size_t index, const char* name, const std::string& fallback) const;  // str()
  const std::string* optional_string(std::size_t index, const char* name) const;  // a str or None
  const std::string& string(std::size_t index, const char* name) const;  // a str, required
};

struct Callable {
  std::string name;
  std::function<Value(CallArgs&)> fn;
};

struct LoopState {
  List items;
  std::size_t index = 0;  // 0-based
  Value last_changed;     // loop.changed's previous arguments (a tuple), undefined before the first call
};

// Python's type name, for messages ("str", "NoneType", "dict", ...).
std::string type_name(const Value& v);
bool truthy(const Value& v);
// Python's str() and repr(); Undefined prints as "".
std::string to_str(const Value& v);
std::string repr(const Value& v);
std::string float_repr(double f);
// Python's ==, and the order of <, <= (raises TypeError as Python does).
bool equals(const Value& a, const Value& b);
int compare(const Value& a, const Value& b);
// Iterating a value as Python's `for` does: str -> characters, dict -> keys.
List iterate(const Value& v);
// len(); raises for values without a length.
std::int64_t length(const Value& v);

}  // namespace talon::text::jinja
