#include "talon/text/jinja/interpreter.h"

#include <memory>
#include <unordered_map>

#include "talon/text/jinja/builtins.h"
#include "talon/util/error.h"

namespace talon::text::jinja {
namespace {

// Scopes live as long as the render (the interpreter owns them all): a macro
// refers to the scope it was defined in, which holds the macro, and shared
// ownership there would be a cycle that never frees.
struct Scope {
  std::unordered_map<std::string, Value> vars;
  Scope* parent = nullptr;
};
using ScopePtr = Scope*;

// Whether an expression involves no variable, no call and no filter that
// needs the render context (Jinja2 folds it at compile time).
bool is_constant(const Expr& e) {
  if (e.kind == Expr::Kind::Name || e.kind == Expr::Kind::Call) return false;
  if (e.kind == Expr::Kind::Filter && (e.name == "map" || e.name == "select" || e.name == "reject" ||
                                       e.name == "selectattr" || e.name == "rejectattr")) {
    return false;
  }
  for (const auto& arg : e.args) {
    if (arg && !is_constant(*arg)) return false;
  }
  for (const auto& kwarg : e.kwargs) {
    if (!is_constant(*kwarg.second)) return false;
  }
  return true;
}

enum class Flow { Normal, Break, Continue };

// Macro calls nest at most this deep (a template recursing forever fails
// here, as Jinja2 fails at Python's recursion limit).
constexpr int kMaxCallDepth = 200;

class Interpreter {
 public:
  Interpreter(const std::string& source_name, Rendered& result) : name_(source_name), result_(result) {}

  void run(const Body& body, const std::vector<std::string>& undefined_at_start, const nlohmann::ordered_json& context) {
    ScopePtr top = child(nullptr);
    if (!context.is_object()) fail("{}: the context must be a JSON object, found {}", name_, context.type_name());
    try {
      for (const auto& [key, value] : context.items()) top->vars[key] = from_json(value);
    } catch (const Failure& f) {
      fail("{}: {}", name_, f.message);
    }
    // The template frame's own names hide the context's values (scoping.h).
    for (const std::string& name : undefined_at_start) top->vars[name] = Value::undefined("'" + name + "' is undefined");
    exec(body, top, result_.text);
  }

 private:
  // A frame's scope: the names Jinja2 makes the frame's own from its start are
  // undefined there until assigned, whatever outer scopes hold.
  ScopePtr child(ScopePtr parent, const std::vector<std::string>& undefined_at_start = {}) {
    Scope* s = scopes_.emplace_back(std::make_unique<Scope>()).get();
    s->parent = parent;
    for (const std::string& name : undefined_at_start) s->vars[name] = Value::undefined("'" + name + "' is undefined");
    return s;
  }

  // A Failure becomes a talon::Error at the innermost node with a line; the
  // outer nodes let that pass (it is no Failure).
  [[noreturn]] void located(int line, const std::string& message) const {
    fail("{}:{}: {}", name_, line, message);
  }

  Flow exec(const Body& body, ScopePtr scope, std::string& out) {
    for (const auto& stmt : body) {
      Flow flow;
      try {
        flow = exec(*stmt, scope, out);
      } catch (const Failure& f) {
        located(stmt->line, f.message);
      }
      if (flow != Flow::Normal) return flow;
    }
    return Flow::Normal;
  }

  Flow exec(const Stmt& s, ScopePtr scope, std::string& out) {
    switch (s.kind) {
      case Stmt::Kind::Data: out += s.text; break;
      case Stmt::Kind::Print: {
        // Jinja2 prints an expression of constants as its optimizer folds it,
        // slicing through the sandbox's getitem (undefined where a slice fails).
        constant_print_ = is_constant(*s.expr);
        Value v = eval(*s.expr, scope);
        constant_print_ = false;
        out += to_str(v);
        break;
      }
      case Stmt::Kind::If:
        for (const auto& [cond, body] : s.branches) {
          if (truthy(eval(*cond, scope))) return exec(body, scope, out);
        }
        return exec(s.else_body, scope, out);
      case Stmt::Kind::For: return exec_for(s, scope, out);
      case Stmt::Kind::Set: assign(*s.target, eval(*s.expr, scope), scope); break;
      case Stmt::Kind::SetBlock: {
        // Jinja2 renders set and filter blocks inline: a break or continue
        // inside leaves them unfinished and moves the loop around them.
        std::string body;
        if (Flow flow = exec(s.body, child(scope, s.undefined_in_body), body); flow != Flow::Normal) return flow;
        Value text = Value::string(std::move(body));
        if (s.expr) text = eval_filter(*s.expr, scope, &text);
        assign(*s.target, text, scope);
        break;
      }
      case Stmt::Kind::Macro: scope->vars[s.text] = make_macro(s, scope, s.text); break;
      case Stmt::Kind::CallBlock: {
        Value caller = make_macro(s, scope, "caller");
        out += to_str(eval_call(*s.expr, scope, &caller));
        break;
      }
      case Stmt::Kind::Break: return Flow::Break;
      case Stmt::Kind::Continue: return Flow::Continue;
      case Stmt::Kind::Generation: {
        // transformers counts from the text already yielded at the top level.
        // The block is a call block: its body is a function with its own scope.
        std::size_t begin = result_.text.size();
        std::string text = render_body(s.body, child(scope, s.undefined_in_body));
        result_.generation_spans.emplace_back(begin, begin + text.size());
        out += text;
        break;
      }
      case Stmt::Kind::With: {
        ScopePtr inner = child(scope, s.undefined_in_body);
        for (const Param& p : s.params) inner->vars[p.name] = eval(*p.default_value, scope);
        return exec(s.body, inner, out);
      }
      case Stmt::Kind::FilterBlock: {
        std::string body;
        if (Flow flow = exec(s.body, child(scope, s.undefined_in_body), body); flow != Flow::Normal) return flow;
        Value text = Value::string(std::move(body));
        out += to_str(eval_filter(*s.expr, scope, &text));
        break;
      }
    }
    return Flow::Normal;
  }

  std::string render_body(const Body& body, ScopePtr scope) {
    std::string text;
    exec(body, scope, text);
    return text;
  }

  // A break or continue in the else branch belongs to the loop around.
  Flow exec_for(const Stmt& s, ScopePtr scope, std::string& out) {
    if (s.recursive) located(s.line, "recursive for loops are not supported");
    List items = iterate(eval(*s.expr, scope));
    if (s.condition) {
      List kept;
      for (Value& item : items) {
        ScopePtr test_scope = child(scope);
        assign(*s.target, item, test_scope);
        if (truthy(eval(*s.condition, test_scope))) kept.push_back(std::move(item));
      }
      items = std::move(kept);
    }
    auto state = std::make_shared<LoopState>();
    state->items = std::move(items);
    // Jinja2 clears its "else" flag at the end of the body: the else branch
    // runs unless an iteration ran to the end (not ended by break/continue).
    bool completed = false;
    for (state->index = 0; state->index < state->items.size(); ++state->index) {
      ScopePtr iteration = child(scope, s.undefined_in_body);
      iteration->vars["loop"] = Value::loop(state);
      assign(*s.target, state->items[state->index], iteration);
      Flow flow = exec(s.body, iteration, out);
      completed = completed || flow == Flow::Normal;
      if (flow == Flow::Break) break;
    }
    return completed ? Flow::Normal : exec(s.else_body, child(scope, s.undefined_in_else), out);
  }

  void assign(const Expr& target, const Value& value, ScopePtr scope) {
    if (target.kind == Expr::Kind::Name) {
      scope->vars[target.name] = value;
    } else if (target.kind == Expr::Kind::Tuple) {
      List items = iterate(value);
      if (items.size() != target.args.size()) {
        raise(items.size() > target.args.size()
                  ? "ValueError: too many values to unpack (expected " + std::to_string(target.args.size()) + ")"
                  : "ValueError: not enough values to unpack (expected " + std::to_string(target.args.size()) +
                        ", got " + std::to_string(items.size()) + ")");
      }
      for (std::size_t i = 0; i < items.size(); ++i) assign(*target.args[i], items[i], scope);
    } else {
      Value ns = lookup(target.args[0]->name, scope);
      if (ns.kind() != Value::Kind::Namespace) raise("TemplateRuntimeError: cannot assign attribute on non-namespace object");
      if (!target.name.empty() && target.name[0] == '_') {
        raise("SecurityError: Chat templates cannot store underscore-prefixed attributes on a namespace, but got '" +
              target.name + "'. Please rename the attribute.");
      }
      ns.dict_ref().set(Value::string(target.name), value);
    }
  }

  Value lookup(const std::string& name, ScopePtr scope) const {
    for (Scope* p = scope; p; p = p->parent) {
      auto it = p->vars.find(name);
      if (it != p->vars.end()) return it->second;
    }
    if (const Value* g = globals().find(Value::string(name))) return *g;
    return Value::undefined("'" + name + "' is undefined");
  }

  // A macro (or a call block's `caller`): a callable that renders `s.body` in
  // a scope under the one it was defined in, with its parameters bound.
  Value make_macro(const Stmt& s, ScopePtr defined_in, const std::string& name) {
    return Value::callable(name, [this, &s, defined_in, name](CallArgs& args) {
      if (call_depth_ >= kMaxCallDepth) {
        raise("RecursionError: macro calls nested deeper than " + std::to_string(kMaxCallDepth));
      }
      ScopePtr scope = child(defined_in, s.undefined_in_body);
      if (args.positional.size() > s.params.size() && !s.takes_varargs) {
        raise("TypeError: macro '" + name + "' takes not more than " + std::to_string(s.params.size()) +
              " argument(s)");
      }
      if (s.takes_varargs) {
        List extra;
        for (std::size_t i = s.params.size(); i < args.positional.size(); ++i) extra.push_back(args.positional[i]);
        scope->vars["varargs"] = Value::tuple(std::move(extra));
      }
      Value extra_keywords = Value::dict();
      if (s.takes_kwargs) scope->vars["kwargs"] = extra_keywords;
      for (std::size_t i = 0; i < s.params.size(); ++i) {
        const Param& p = s.params[i];
        if (i < args.positional.size()) {
          scope->vars[p.name] = args.positional[i];
        } else if (p.default_value) {
          scope->vars[p.name] = eval(*p.default_value, scope);
        } else {
          scope->vars[p.name] = Value::undefined("parameter '" + p.name + "' was not provided");
        }
      }
      for (auto& [key, value] : args.keyword) {
        bool known = key == "caller";
        for (const Param& p : s.params) known = known || p.name == key;
        if (known) {
          scope->vars[key] = value;
        } else if (s.takes_kwargs) {
          extra_keywords.dict_ref().set(Value::string(key), value);
        } else {
          raise("TypeError: macro '" + name + "' takes no keyword argument '" + key + "'");
        }
      }
      ++call_depth_;
      struct Leave {
        int& depth;
        ~Leave() { --depth; }
      } leave{call_depth_};
      return Value::string(render_body(s.body, scope));
    });
  }

  Value eval(const Expr& e, ScopePtr scope) {
    try {
      return eval_node(e, scope);
    } catch (const Failure& f) {
      located(e.line, f.message);
    }
  }

  Value eval_node(const Expr& e, ScopePtr scope) {
    switch (e.kind) {
      case Expr::Kind::Literal: return e.value;
      case Expr::Kind::Name: return lookup(e.name, scope);
      case Expr::Kind::List:
      case Expr::Kind::Tuple: {
        List items;
        for (const auto& item : e.args) items.push_back(eval(*item, scope));
        return e.kind == Expr::Kind::List ? Value::list(std::move(items)) : Value::tuple(std::move(items));
      }
      case Expr::Kind::Dict: {
        Value d = Value::dict();
        for (std::size_t i = 0; i < e.args.size(); i += 2) {
          d.dict_ref().set(eval(*e.args[i], scope), eval(*e.args[i + 1], scope));
        }
        return d;
      }
      case Expr::Kind::Unary: {
        Value v = eval(*e.args[0], scope);
        if (e.name == "not") return Value::boolean(!truthy(v));
        if (!v.is_number()) raise("TypeError: bad operand type for unary " + e.name + ": '" + type_name(v) + "'");
        if (e.name == "+") return v.kind() == Value::Kind::Float ? v : Value::integer(v.as_int());
        return v.kind() == Value::Kind::Float ? Value::floating(-v.as_float()) : Value::integer(-v.as_int());
      }
      case Expr::Kind::Binary: {
        Value left = eval(*e.args[0], scope);
        if (e.name == "and") return truthy(left) ? eval(*e.args[1], scope) : left;
        if (e.name == "or") return truthy(left) ? left : eval(*e.args[1], scope);
        return binary_op(e.name, left, eval(*e.args[1], scope));
      }
      case Expr::Kind::Compare: {
        Value left = eval(*e.args[0], scope);
        for (std::size_t i = 0; i < e.ops.size(); ++i) {
          Value right = eval(*e.args[i + 1], scope);
          if (!compare_op(e.ops[i], left, right)) return Value::boolean(false);
          left = std::move(right);
        }
        return Value::boolean(true);
      }
      case Expr::Kind::Condition:
        if (truthy(eval(*e.args[0], scope))) return eval(*e.args[1], scope);
        return e.args[2] ? eval(*e.args[2], scope) : Value::undefined("the condition was false and there is no else");
      case Expr::Kind::GetAttr: return get_attribute(eval(*e.args[0], scope), e.name);
      case Expr::Kind::GetItem: {
        Value object = eval(*e.args[0], scope);
        const Expr& index = *e.args[1];
        if (index.kind != Expr::Kind::Slice) return get_item(object, eval(index, scope));
        Value parts[3];
        for (int i = 0; i < 3; ++i) {
          if (index.args[i]) parts[i] = eval(*index.args[i], scope);
        }
        try {
          return get_slice(object, index.args[0] ? &parts[0] : nullptr, index.args[1] ? &parts[1] : nullptr,
                           index.args[2] ? &parts[2] : nullptr);
        } catch (const Failure& f) {
          // (The sandbox's getitem turns only TypeError into undefined.)
          if (!constant_print_ || object.is_undefined() || f.message.rfind("TypeError", 0) != 0) throw;
          return Value::undefined(f.message);
        }
      }
      case Expr::Kind::Slice: raise("a slice outside of a subscript");
      case Expr::Kind::Call: return eval_call(e, scope, nullptr);
      case Expr::Kind::Filter: return eval_filter(e, scope, nullptr);
      case Expr::Kind::Test: {
        Value subject = eval(*e.args[0], scope);
        CallArgs args = eval_args(e, scope);
        return Value::boolean(apply_test(e.name, subject, args) != e.negated);
      }
    }
    return Value();
  }

  // The arguments after args[0] (callee or subject) and the keyword ones.
  CallArgs eval_args(const Expr& e, ScopePtr scope) {
    CallArgs args;
    for (std::size_t i = 1; i < e.args.size(); ++i) args.positional.push_back(eval(*e.args[i], scope));
    for (const auto& [key, value] : e.kwargs) args.keyword.emplace_back(key, eval(*value, scope));
    return args;
  }

  Value eval_call(const Expr& e, ScopePtr scope, const Value* caller) {
    Value callee = eval(*e.args[0], scope);
    CallArgs args = eval_args(e, scope);
    if (caller) args.keyword.emplace_back("caller", *caller);
    if (callee.kind() == Value::Kind::Callable) return callee.fn().fn(args);
    if (callee.is_undefined()) {
      if (callee.unsafe()) raise("SecurityError: " + callee.str());
      raise("UndefinedError: " + callee.str());
    }
    raise("TypeError: '" + type_name(callee) + "' object is not callable");
  }

  // A filter node; in {% filter %} and {% set x | f %} the innermost subject
  // is null and `subject` stands for it.
  Value eval_filter(const Expr& e, ScopePtr scope, const Value* subject) {
    if (e.kind != Expr::Kind::Filter) return eval(e, scope);
    Value input = e.args[0] ? eval_filter(*e.args[0], scope, subject) : *subject;
    CallArgs args = eval_args(e, scope);
    try {
      return apply_filter(e.name, input, args);
    } catch (const Failure& f) {
      located(e.line, f.message);
    }
  }

  const std::string& name_;
  Rendered& result_;
  std::vector<std::unique_ptr<Scope>> scopes_;
  int call_depth_ = 0;
  bool constant_print_ = false;
};

}  // namespace

Rendered run(const Body& body, const std::vector<std::string>& undefined_at_start,
             const nlohmann::ordered_json& context, const std::string& source_name) {
  Rendered result;
  Interpreter(source_name, result).run(body, undefined_at_start, context);
  return result;
}

}  // namespace talon::text::jinja
