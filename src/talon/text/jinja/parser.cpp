#include "talon/text/jinja/parser.h"

#include <algorithm>
#include <cstdlib>
#include <initializer_list>

#include "talon/text/jinja/builtins.h"
#include "talon/util/error.h"

namespace talon::text::jinja {
namespace {

using Type = Token::Type;

std::string describe(const Token& t) {
  switch (t.type) {
    case Type::Data: return "template data";
    case Type::VariableBegin: return "'{{'";
    case Type::VariableEnd: return "end of print statement";
    case Type::BlockBegin: return "'{%'";
    case Type::BlockEnd: return "end of statement block";
    case Type::Name: return "'" + t.text + "'";
    case Type::String: return "string";
    case Type::Integer:
    case Type::Float: return "number " + t.text;
    case Type::Operator: return "'" + t.text + "'";
    case Type::End: return "end of template";
  }
  return "token";
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += (i == 0 ? "'" : i + 1 == names.size() ? " or '" : ", '") + names[i] + "'";
  }
  return out;
}

// Deeper nesting (of statements or of expressions) is refused rather than
// exhausting the stack; Jinja2 stops at Python's recursion limit.
constexpr int kMaxNesting = 200;

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, const std::string& name) : tokens_(tokens), name_(name) {}

  Body parse_template() { return parse_body({}, "", 0); }

 private:
  const Token& peek(std::size_t ahead = 0) const { return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)]; }
  const Token& next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool is_op(const char* op, std::size_t ahead = 0) const {
    return peek(ahead).type == Type::Operator && peek(ahead).text == op;
  }
  bool is_name(const char* n, std::size_t ahead = 0) const {
    return peek(ahead).type == Type::Name && peek(ahead).text == n;
  }
  bool skip_op(const char* op) { return is_op(op) ? (++pos_, true) : false; }
  bool skip_name(const char* n) { return is_name(n) ? (++pos_, true) : false; }

  [[noreturn]] void error(int line, const std::string& what) const { fail("{}:{}: {}", name_, line, what); }
  [[noreturn]] void expected(const std::string& what) const {
    error(peek().line, "expected " + what + ", found " + describe(peek()));
  }
  void expect_op(const char* op) {
    if (!skip_op(op)) expected(std::string("'") + op + "'");
  }
  std::string expect_name() {
    if (peek().type != Type::Name) expected("a name");
    return next().text;
  }
  void expect_block_end() {
    if (peek().type != Type::BlockEnd) expected("end of statement block");
    ++pos_;
  }

  // Counts one level of nesting while alive.
  struct Nested {
    Nested(Parser& p) : parser(p) {
      if (++parser.depth_ > kMaxNesting) {
        parser.error(parser.peek().line, "nesting deeper than " + std::to_string(kMaxNesting) + " levels");
      }
    }
    ~Nested() { --parser.depth_; }
    Parser& parser;
  };

  static ExprPtr node(Expr::Kind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }

  // Statements until `{% <one of ends> %}`; leaves the end tag's name as the
  // next token. An empty `ends` reads to the end of the template.
  Body parse_body(const std::vector<std::string>& ends, const std::string& opener, int opener_line) {
    Nested nested(*this);
    Body body;
    while (true) {
      const Token& t = peek();
      if (t.type == Type::End) {
        if (ends.empty()) return body;
        error(t.line, "expected " + quoted_list(ends) + " to close the '" + opener + "' of line " +
                          std::to_string(opener_line) + ", found end of template");
      }
      if (t.type == Type::Data) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::Data;
        s->line = t.line;
        s->text = next().text;
        body.push_back(std::move(s));
      } else if (t.type == Type::VariableBegin) {
        ++pos_;
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::Print;
        s->line = t.line;
        s->expr = parse_tuple(true, {});
        if (peek().type != Type::VariableEnd) expected("end of print statement");
        ++pos_;
        body.push_back(std::move(s));
      } else if (t.type == Type::BlockBegin) {
        const Token& tag = peek(1);
        if (tag.type == Type::Name && std::find(ends.begin(), ends.end(), tag.text) != ends.end()) {
          ++pos_;
          return body;
        }
        ++pos_;
        body.push_back(parse_statement(ends, opener, opener_line));
      } else {
        expected("template data or a tag");
      }
    }
  }

  std::unique_ptr<Stmt> parse_statement(const std::vector<std::string>& ends, const std::string& opener,
                                        int opener_line) {
    const Token& tag = peek();
    if (tag.type != Type::Name) expected("a statement name");
    auto s = std::make_unique<Stmt>();
    s->line = tag.line;
    std::string name = next().text;
    if (name == "if") {
      s->kind = Stmt::Kind::If;
      parse_if(*s);
    } else if (name == "for") {
      s->kind = Stmt::Kind::For;
      parse_for(*s);
    } else if (name == "set") {
      parse_set(*s);
    } else if (name == "macro") {
      s->kind = Stmt::Kind::Macro;
      s->text = expect_name();
      parse_params(*s);
      expect_block_end();
      s->body = parse_function_body("endmacro", "macro", s->line);
    } else if (name == "call") {
      s->kind = Stmt::Kind::CallBlock;
      if (is_op("(")) parse_params(*s);
      s->expr = parse_expression(true);
      if (s->expr->kind != Expr::Kind::Call) error(s->line, "expected a call after 'call'");
      expect_block_end();
      s->body = parse_function_body("endcall", "call", s->line);
    } else if (name == "break" || name == "continue") {
      // Jinja2 compiles these to Python's own: outside the body of a loop
      // (in a macro, a loop's else) the template does not compile.
      if (loop_depth_ == 0) error(tag.line, name == "break" ? "'break' outside loop" : "'continue' not properly in loop");
      s->kind = name == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue;
      expect_block_end();
    } else if (name == "generation") {
      s->kind = Stmt::Kind::Generation;
      expect_block_end();
      s->body = parse_function_body("endgeneration", "generation", s->line);
    } else if (name == "with") {
      s->kind = Stmt::Kind::With;
      while (peek().type != Type::BlockEnd) {
        if (!s->params.empty()) expect_op(",");
        Param p;
        p.name = expect_name();
        expect_op("=");
        p.default_value = parse_expression(true);
        s->params.push_back(std::move(p));
      }
      expect_block_end();
      s->body = parse_end("endwith", "with", s->line);
    } else if (name == "filter") {
      s->kind = Stmt::Kind::FilterBlock;
      s->expr = parse_filter_block_chain();
      expect_block_end();
      s->body = parse_end("endfilter", "filter", s->line);
    } else if (name == "include" || name == "extends" || name == "import" || name == "from" || name == "block") {
      error(tag.line, "'" + name + "' is not supported in chat templates: a template is one self-contained string");
    } else {
      std::string what = "Encountered unknown tag '" + name + "'";
      if (!ends.empty()) {
        what += "; expected " + quoted_list(ends) + " to close the '" + opener + "' of line " +
                std::to_string(opener_line);
      }
      error(tag.line, what);
    }
    return s;
  }

  // The body up to `{% <end> %}`, consuming the end tag.
  Body parse_end(const char* end, const char* opener, int line) {
    Body body = parse_body({end}, opener, line);
    ++pos_;
    expect_block_end();
    return body;
  }

  // A macro's, caller's or generation block's body (a function in Jinja2):
  // loops around it do not count.
  Body parse_function_body(const char* end, const char* opener, int line) {
    int outer_loops = loop_depth_;
    loop_depth_ = 0;
    Body body = parse_end(end, opener, line);
    loop_depth_ = outer_loops;
    return body;
  }

  void parse_if(Stmt& s) {
    while (true) {
      ExprPtr cond = parse_tuple(false, {});
      expect_block_end();
      Body body = parse_body({"elif", "else", "endif"}, "if", s.line);
      s.branches.emplace_back(std::move(cond), std::move(body));
      std::string end = next().text;
      if (end == "elif") continue;
      if (end == "else") {
        expect_block_end();
        s.else_body = parse_body({"endif"}, "if", s.line);
        ++pos_;
      }
      expect_block_end();
      return;
    }
  }

  void parse_for(Stmt& s) {
    s.target = parse_assign_target(false);
    if (!skip_name("in")) expected("'in'");
    s.expr = parse_tuple(false, {"recursive", "if"}, false);
    if (skip_name("if")) s.condition = parse_expression(true);
    s.recursive = skip_name("recursive");
    expect_block_end();
    ++loop_depth_;
    s.body = parse_body({"endfor", "else"}, "for", s.line);
    --loop_depth_;
    if (next().text == "else") {
      expect_block_end();
      s.else_body = parse_body({"endfor"}, "for", s.line);
      ++pos_;
    }
    expect_block_end();
  }

  void parse_set(Stmt& s) {
    s.target = parse_assign_target(true);
    if (skip_op("=")) {
      s.kind = Stmt::Kind::Set;
      s.expr = parse_tuple(true, {});
      expect_block_end();
      return;
    }
    s.kind = Stmt::Kind::SetBlock;
    if (skip_op("|")) s.expr = parse_filter_block_chain();
    expect_block_end();
    s.body = parse_end("endset", "set", s.line);
  }

  void parse_params(Stmt& s) {
    expect_op("(");
    while (!skip_op(")")) {
      if (!s.params.empty()) expect_op(",");
      if (skip_op(")")) break;
      Param p;
      p.name = expect_name();
      if (skip_op("=")) p.default_value = parse_expression(true);
      s.params.push_back(std::move(p));
    }
  }

  // A name, `ns.attr` (set only) or a tuple of names.
  ExprPtr parse_assign_target(bool with_namespace) {
    int line = peek().line;
    if (with_namespace && peek(1).type == Type::Operator && peek(1).text == ".") {
      auto e = node(Expr::Kind::GetAttr, line);
      auto base = node(Expr::Kind::Name, line);
      base->name = expect_name();
      ++pos_;
      e->name = expect_name();
      e->args.push_back(std::move(base));
      return e;
    }
    std::vector<ExprPtr> names;
    bool tuple = false;
    while (true) {
      auto n = node(Expr::Kind::Name, peek().line);
      if (peek().type != Type::Name) expected("a name to assign to");
      n->name = next().text;
      names.push_back(std::move(n));
      if (!skip_op(",")) break;
      tuple = true;
      if (peek().type != Type::Name || is_name("in")) break;
    }
    if (!tuple) return std::move(names[0]);
    auto e = node(Expr::Kind::Tuple, line);
    e->args = std::move(names);
    return e;
  }

  bool tuple_ends(const std::vector<std::string>& extra_ends) const {
    const Token& t = peek();
    if (t.type == Type::VariableEnd || t.type == Type::BlockEnd || t.type == Type::End) return true;
    if (t.type == Type::Operator && (t.text == ")" || t.text == "]" || t.text == "}")) return true;
    return t.type == Type::Name && std::find(extra_ends.begin(), extra_ends.end(), t.text) != extra_ends.end();
  }

  // Comma-separated expressions: a tuple if there is a comma, else the one
  // expression.
  ExprPtr parse_tuple(bool with_condexpr, const std::vector<std::string>& extra_ends, bool explicit_parens = false) {
    int line = peek().line;
    std::vector<ExprPtr> items;
    bool comma = false;
    while (true) {
      if (!items.empty()) {
        if (!skip_op(",")) break;
        comma = true;
      }
      if (tuple_ends(extra_ends)) break;
      items.push_back(parse_expression(with_condexpr));
    }
    if (!comma && items.size() == 1) return std::move(items[0]);
    if (items.empty() && !explicit_parens) expected("an expression");
    auto e = node(Expr::Kind::Tuple, line);
    e->args = std::move(items);
    return e;
  }

  ExprPtr parse_expression(bool with_condexpr) {
    Nested nested(*this);
    if (!with_condexpr) return parse_or();
    ExprPtr e = parse_or();
    while (is_name("if")) {
      int line = next().line;
      auto c = node(Expr::Kind::Condition, line);
      ExprPtr test = parse_or();
      ExprPtr otherwise = skip_name("else") ? parse_expression(true) : nullptr;
      c->args.push_back(std::move(test));
      c->args.push_back(std::move(e));
      c->args.push_back(std::move(otherwise));
      e = std::move(c);
    }
    return e;
  }

  ExprPtr binary(const std::string& op, ExprPtr left, ExprPtr right, int line) {
    auto e = node(Expr::Kind::Binary, line);
    e->name = op;
    e->args.push_back(std::move(left));
    e->args.push_back(std::move(right));
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      int line = next().line;
      left = binary("or", std::move(left), parse_and(), line);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      int line = next().line;
      left = binary("and", std::move(left), parse_not(), line);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      auto e = node(Expr::Kind::Unary, next().line);
      e->name = "not";
      e->args.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    int line = peek().line;
    ExprPtr first = parse_math1();
    auto e = node(Expr::Kind::Compare, line);
    while (true) {
      const Token& t = peek();
      std::string op;
      if (t.type == Type::Operator && (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" ||
                                       t.text == ">" || t.text == ">=")) {
        op = next().text;
      } else if (skip_name("in")) {
        op = "in";
      } else if (is_name("not") && is_name("in", 1)) {
        pos_ += 2;
        op = "not in";
      } else {
        break;
      }
      e->ops.push_back(op);
      e->args.push_back(parse_math1());
    }
    if (e->ops.empty()) return first;
    e->args.insert(e->args.begin(), std::move(first));
    return e;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& t = next();
      left = binary(t.text, std::move(left), parse_concat(), t.line);
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      int line = next().line;
      left = binary("~", std::move(left), parse_math2(), line);
    }
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& t = next();
      left = binary(t.text, std::move(left), parse_pow(), t.line);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      int line = next().line;
      left = binary("**", std::move(left), parse_unary(true), line);
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    Nested nested(*this);
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      const Token& t = next();
      e = node(Expr::Kind::Unary, t.line);
      e->name = t.text;
      e->args.push_back(parse_unary(false));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    return with_filter ? parse_filters(std::move(e)) : std::move(e);
  }

  ExprPtr parse_primary() {
    const Token& t = next();
    switch (t.type) {
      case Type::Name: {
        auto e = node(Expr::Kind::Literal, t.line);
        if (t.text == "true" || t.text == "True") {
          e->value = Value::boolean(true);
        } else if (t.text == "false" || t.text == "False") {
          e->value = Value::boolean(false);
        } else if (t.text == "none" || t.text == "None") {
          e->value = Value::none();
        } else {
          e->kind = Expr::Kind::Name;
          e->name = t.text;
        }
        return e;
      }
      case Type::String: {
        std::string s = t.text;
        while (peek().type == Type::String) s += next().text;  // adjacent literals join
        auto e = node(Expr::Kind::Literal, t.line);
        e->value = Value::string(std::move(s));
        return e;
      }
      case Type::Integer: {
        auto e = node(Expr::Kind::Literal, t.line);
        e->value = Value::integer(parse_integer(t));
        return e;
      }
      case Type::Float: {
        auto e = node(Expr::Kind::Literal, t.line);
        e->value = Value::floating(std::strtod(t.text.c_str(), nullptr));
        return e;
      }
      case Type::Operator:
        if (t.text == "(") {
          ExprPtr e = parse_tuple(true, {}, true);
          expect_op(")");
          return e;
        }
        if (t.text == "[") {
          auto e = node(Expr::Kind::List, t.line);
          while (!skip_op("]")) {
            if (!e->args.empty()) expect_op(",");
            if (skip_op("]")) break;
            e->args.push_back(parse_expression(true));
          }
          return e;
        }
        if (t.text == "{") {
          auto e = node(Expr::Kind::Dict, t.line);
          while (!skip_op("}")) {
            if (!e->args.empty()) expect_op(",");
            if (skip_op("}")) break;
            e->args.push_back(parse_expression(true));
            expect_op(":");
            e->args.push_back(parse_expression(true));
          }
          return e;
        }
        break;
      default:
        break;
    }
    --pos_;
    expected("an expression");
  }

  std::int64_t parse_integer(const Token& t) {
    std::string s = t.text;
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X' || s[1] == 'o' || s[1] == 'O' || s[1] == 'b' || s[1] == 'B')) {
      base = s[1] == 'x' || s[1] == 'X' ? 16 : s[1] == 'o' || s[1] == 'O' ? 8 : 2;
      s = s.substr(2);
    }
    errno = 0;
    long long v = std::strtoll(s.c_str(), nullptr, base);
    if (errno == ERANGE) error(t.line, "integer " + t.text + " does not fit in 64 bits");
    return v;
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      if (is_op(".")) {
        int line = next().line;
        const Token& t = next();
        if (t.type == Type::Name) {
          auto g = node(Expr::Kind::GetAttr, line);
          g->name = t.text;
          g->args.push_back(std::move(e));
          e = std::move(g);
        } else if (t.type == Type::Integer) {
          auto g = node(Expr::Kind::GetItem, line);
          auto index = node(Expr::Kind::Literal, line);
          index->value = Value::integer(parse_integer(t));
          g->args.push_back(std::move(e));
          g->args.push_back(std::move(index));
          e = std::move(g);
        } else {
          --pos_;
          expected("a name after '.'");
        }
      } else if (is_op("[")) {
        int line = next().line;
        auto g = node(Expr::Kind::GetItem, line);
        g->args.push_back(std::move(e));
        g->args.push_back(parse_subscript());
        expect_op("]");
        e = std::move(g);
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript() {
    int line = peek().line;
    ExprPtr first;
    if (!is_op(":")) {
      first = parse_expression(true);
      if (!is_op(":")) return first;
    }
    auto s = node(Expr::Kind::Slice, line);
    s->args.push_back(std::move(first));
    ++pos_;  // ':'
    s->args.push_back(is_op("]") || is_op(",") || is_op(":") ? nullptr : parse_expression(true));
    if (skip_op(":")) {
      s->args.push_back(is_op("]") || is_op(",") ? nullptr : parse_expression(true));
    } else {
      s->args.push_back(nullptr);
    }
    return s;
  }

  // `(args, name=value)` after a callee, a filter or a test.
  void parse_args(Expr& e) {
    expect_op("(");
    bool first = true;
    while (!skip_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (skip_op(")")) break;
      if (is_op("*") || is_op("**")) error(peek().line, "*args and **kwargs in calls are not supported");
      if (peek().type == Type::Name && is_op("=", 1)) {
        std::string key = next().text;
        ++pos_;
        e.kwargs.emplace_back(key, parse_expression(true));
      } else {
        if (!e.kwargs.empty()) error(peek().line, "a positional argument follows a keyword argument");
        e.args.push_back(parse_expression(true));
      }
    }
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto c = node(Expr::Kind::Call, peek().line);
    c->args.push_back(std::move(callee));
    parse_args(*c);
    return c;
  }

  std::string dotted_name() {
    std::string n = expect_name();
    while (is_op(".") && peek(1).type == Type::Name) {
      ++pos_;
      n += "." + next().text;
    }
    return n;
  }

  // `name(args)`: one filter applied to `subject`.
  ExprPtr parse_filter(ExprPtr subject) {
    auto f = node(Expr::Kind::Filter, peek().line);
    f->name = dotted_name();
    if (!has_filter(f->name)) error(f->line, "No filter named '" + f->name + "'.");
    f->args.push_back(std::move(subject));
    if (is_op("(")) parse_args(*f);
    return f;
  }

  // `{% filter a | b %}` and `{% set x | a | b %}`: a chain whose innermost
  // subject (null) is the block's text.
  ExprPtr parse_filter_block_chain() {
    ExprPtr e = parse_filter(nullptr);
    while (skip_op("|")) e = parse_filter(std::move(e));
    return e;
  }

  // `| filter(args)` and `is [not] test args` after an operand.
  ExprPtr parse_filters(ExprPtr e) {
    while (true) {
      if (skip_op("|")) {
        e = parse_filter(std::move(e));
      } else if (is_name("is")) {
        int line = next().line;
        auto t = node(Expr::Kind::Test, line);
        t->negated = skip_name("not");
        t->name = dotted_name();
        if (!has_test(t->name)) error(line, "No test named '" + t->name + "'.");
        t->args.push_back(std::move(e));
        if (is_op("(")) {
          parse_args(*t);
        } else if ((peek().type == Type::Name && !is_name("else") && !is_name("or") && !is_name("and")) ||
                   peek().type == Type::String || peek().type == Type::Integer || peek().type == Type::Float ||
                   is_op("(") || is_op("[") || is_op("{")) {
          if (is_name("is")) break;
          t->args.push_back(parse_postfix(parse_primary()));
        }
        e = std::move(t);
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
    return e;
  }

  const std::vector<Token>& tokens_;
  const std::string& name_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;  // for bodies around the statement being parsed
};

}  // namespace

Body parse(const std::vector<Token>& tokens, const std::string& source_name) {
  return Parser(tokens, source_name).parse_template();
}

}  // namespace talon::text::jinja
