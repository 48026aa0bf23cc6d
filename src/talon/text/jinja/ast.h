// The parsed template: expressions and statements, each with its line.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "talon/text/jinja/value.h"

namespace talon::text::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Literal,    // value
    Name,       // name
    List,       // args: items
    Tuple,      // args: items
    Dict,       // args: key, value, key, value, ...
    Unary,      // name: "not", "-", "+"; args: operand
    Binary,     // name: operator ("+", "and", "~", ...); args: left, right
    Compare,    // args: first operand, then one per op in `ops`
    Condition,  // args: test, then, else (null: undefined)
    GetAttr,    // args: object; name: attribute
    GetItem,    // args: object, index
    Slice,      // args: start, stop, step (each may be null)
    Call,       // args: callee, positional...; kwargs
    Filter,     // args: subject (null in {% filter %}), positional...; name; kwargs
    Test,       // args: subject, positional...; name; kwargs; negated
  };
  Kind kind;
  int line;
  Value value;
  std::string name;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
  bool negated = false;
};

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

struct Param {
  std::string name;
  ExprPtr default_value;  // null: required
};

struct Stmt {
  enum class Kind {
    Data,         // text
    Print,        // expr
    If,           // branches; else_body
    For,          // target, expr (iterable), condition (may be null); body, else_body; recursive
    Set,          // target, expr
    SetBlock,     // target, body; expr: filter chain to apply (may be null)
    Macro,        // text: name; params; body
    CallBlock,    // expr: the call; params: caller's; body: caller's
    Break,
    Continue,
    Generation,   // body
    With,         // params: name = value; body
    FilterBlock,  // expr: filter chain with a null subject; body
  };
  Kind kind;
  int line;
  std::string text;
  ExprPtr expr;
  ExprPtr target;
  ExprPtr condition;
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
  std::vector<Param> params;
  bool recursive = false;
  // Names that start undefined in the frame of `body` (and of a for's
  // `else_body`), hiding outer values (scoping.h).
  std::vector<std::string> undefined_in_body;
  std::vector<std::string> undefined_in_else;
  // Macro: whether its body reads `varargs` / `kwargs`, which makes it take
  // extra positional / keyword arguments (as Jinja2 decides).
  bool takes_varargs = false;
  bool takes_kwargs = false;
};

}  // namespace talon::text::jinja
