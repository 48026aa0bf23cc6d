#include "talon/text/jinja/scoping.h"

#include <map>
#include <set>

namespace talon::text::jinja {
namespace {

// How a frame's name gets its value at the frame's start.
enum class Origin { Resolve, Alias, Undefined, Param };

struct Frame;

// A nested frame, analyzed once its parent frame is complete (Jinja2 analyzes
// a nested frame when it compiles it, after the whole enclosing frame).
struct NestedFrame {
  Body* body;
  Stmt* owner;  // whose parameters it declares; null for none
  std::vector<std::string>* undefined;  // where its result goes
};

// jinja2.idtracking.Symbols: the names a frame uses, in the order it meets them.
struct Frame {
  const Frame* parent = nullptr;
  std::vector<NestedFrame>* nested = nullptr;  // shared by an if's branch copies
  std::map<std::string, Origin> refs;
  std::set<std::string> stores;

  bool declares(const std::string& name) const {
    for (const Frame* f = this; f; f = f->parent) {
      if (f->refs.count(name)) return true;
    }
    return false;
  }
  void load(const std::string& name) {
    if (!declares(name)) refs[name] = Origin::Resolve;
  }
  void store(const std::string& name) {
    stores.insert(name);
    if (refs.count(name)) return;
    refs[name] = parent && parent->declares(name) ? Origin::Alias : Origin::Undefined;
  }
  void param(const std::string& name) {
    stores.insert(name);
    refs[name] = Origin::Param;
  }
  // After an if: a name first assigned in a branch keeps its outer value
  // until assigned (Jinja2 3.1 treats every branch so, even when all assign).
  void merge(const std::vector<Frame>& branches) {
    std::set<std::string> assigned;
    for (const Frame& b : branches) {
      for (const std::string& name : b.stores) {
        if (!stores.count(name)) assigned.insert(name);
      }
    }
    for (const Frame& b : branches) {
      for (const auto& [name, origin] : b.refs) refs[name] = origin;
      stores.insert(b.stores.begin(), b.stores.end());
    }
    for (const std::string& name : assigned) {
      refs[name] = parent && parent->declares(name) ? Origin::Alias : Origin::Resolve;
    }
  }
  std::vector<std::string> undefined_names() const {
    std::vector<std::string> out;
    for (const auto& [name, origin] : refs) {
      if (origin == Origin::Undefined) out.push_back(name);
    }
    return out;
  }
};

void load_names(const Expr* e, Frame& frame) {
  if (!e) return;
  if (e->kind == Expr::Kind::Name) frame.load(e->name);
  for (const auto& arg : e->args) load_names(arg.get(), frame);
  for (const auto& kwarg : e->kwargs) load_names(kwarg.second.get(), frame);
}

bool mentions(const Expr* e, const std::string& name) {
  if (!e) return false;
  if (e->kind == Expr::Kind::Name && e->name == name) return true;
  for (const auto& arg : e->args) {
    if (mentions(arg.get(), name)) return true;
  }
  for (const auto& kwarg : e->kwargs) {
    if (mentions(kwarg.second.get(), name)) return true;
  }
  return false;
}

// Whether any expression in `body` (nested statements included) reads `name`.
bool mentions(const Body& body, const std::string& name) {
  for (const auto& s : body) {
    if (mentions(s->expr.get(), name) || mentions(s->condition.get(), name) || mentions(s->body, name) ||
        mentions(s->else_body, name)) {
      return true;
    }
    for (const auto& [condition, branch] : s->branches) {
      if (mentions(condition.get(), name) || mentions(branch, name)) return true;
    }
    for (const Param& p : s->params) {
      if (mentions(p.default_value.get(), name)) return true;
    }
  }
  return false;
}

void store_target(const Expr& target, Frame& frame) {
  if (target.kind == Expr::Kind::Name) {
    frame.store(target.name);
  } else if (target.kind == Expr::Kind::Tuple) {
    for (const auto& item : target.args) store_target(*item, frame);
  } else {
    frame.load(target.args[0]->name);  // ns.attr = ...: a use of ns
  }
}

void param_target(const Expr& target, Frame& frame) {
  if (target.kind == Expr::Kind::Name) {
    frame.param(target.name);
  } else {
    for (const auto& item : target.args) param_target(*item, frame);
  }
}

void visit(Stmt& s, Frame& frame);

void visit_all(Body& body, Frame& frame) {
  for (auto& s : body) visit(*s, frame);
}

void defer(Frame& frame, Body& body, Stmt* owner, std::vector<std::string>& undefined) {
  frame.nested->push_back({&body, owner, &undefined});
}

std::vector<std::string> analyze(Frame& frame, Body& body);

// A nested frame under the complete `outer`: its parameters, then its statements.
void analyze_nested(const NestedFrame& job, const Frame& outer) {
  Frame frame;
  frame.parent = &outer;
  Stmt* owner = job.owner;
  if (owner) {
    if (owner->kind == Stmt::Kind::For) {
      param_target(*owner->target, frame);
      frame.param("loop");
    }
    if (owner->kind == Stmt::Kind::Macro || owner->kind == Stmt::Kind::CallBlock ||
        owner->kind == Stmt::Kind::With) {
      for (const Param& p : owner->params) frame.param(p.name);
      if (owner->kind != Stmt::Kind::With) {
        frame.param("caller");
        frame.param("varargs");
        frame.param("kwargs");
        for (const Param& p : owner->params) load_names(p.default_value.get(), frame);
      }
    }
  }
  *job.undefined = analyze(frame, *job.body);
}

// A frame's own statements, then its nested frames.
std::vector<std::string> analyze(Frame& frame, Body& body) {
  std::vector<NestedFrame> nested;
  frame.nested = &nested;
  visit_all(body, frame);
  for (const NestedFrame& job : nested) analyze_nested(job, frame);
  return frame.undefined_names();
}

// An if's branches as Jinja2 groups them: the body, the elifs (each an if of
// its own), the else.
void visit_if(Stmt& s, std::size_t first_branch, Frame& frame) {
  load_names(s.branches[first_branch].first.get(), frame);
  std::vector<Frame> branches(3, frame);
  visit_all(s.branches[first_branch].second, branches[0]);
  if (first_branch + 1 < s.branches.size()) visit_if(s, first_branch + 1, branches[1]);
  if (first_branch == 0) visit_all(s.else_body, branches[2]);
  frame.merge(branches);
}

void visit(Stmt& s, Frame& frame) {
  switch (s.kind) {
    case Stmt::Kind::Print: load_names(s.expr.get(), frame); break;
    case Stmt::Kind::If: visit_if(s, 0, frame); break;
    case Stmt::Kind::For:
      load_names(s.expr.get(), frame);
      defer(frame, s.body, &s, s.undefined_in_body);
      defer(frame, s.else_body, nullptr, s.undefined_in_else);
      break;
    case Stmt::Kind::Set:
      load_names(s.expr.get(), frame);
      store_target(*s.target, frame);
      break;
    case Stmt::Kind::SetBlock:
      defer(frame, s.body, nullptr, s.undefined_in_body);
      store_target(*s.target, frame);
      break;
    case Stmt::Kind::Macro:
      s.takes_varargs = mentions(s.body, "varargs");
      s.takes_kwargs = mentions(s.body, "kwargs");
      frame.store(s.text);
      defer(frame, s.body, &s, s.undefined_in_body);
      break;
    case Stmt::Kind::CallBlock:
      load_names(s.expr.get(), frame);
      defer(frame, s.body, &s, s.undefined_in_body);
      break;
    case Stmt::Kind::With:
      for (const Param& p : s.params) load_names(p.default_value.get(), frame);
      defer(frame, s.body, &s, s.undefined_in_body);
      break;
    case Stmt::Kind::FilterBlock:
      load_names(s.expr.get(), frame);
      defer(frame, s.body, nullptr, s.undefined_in_body);
      break;
    case Stmt::Kind::Generation: defer(frame, s.body, nullptr, s.undefined_in_body); break;
    case Stmt::Kind::Data:
    case Stmt::Kind::Break:
    case Stmt::Kind::Continue: break;
  }
}

}  // namespace

std::vector<std::string> analyze_scopes(Body& root) {
  Frame frame;
  return analyze(frame, root);
}

}  // namespace talon::text::jinja
