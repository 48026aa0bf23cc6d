#include "talon/text/jinja.h"

#include "talon/text/jinja/interpreter.h"
#include "talon/text/jinja/lexer.h"
#include "talon/text/jinja/parser.h"
#include "talon/text/jinja/scoping.h"
#include "talon/util/error.h"
#include "talon/util/utf8.h"

namespace talon::text::jinja {
namespace {

bool contains_generation(const Body& body) {
  for (const auto& s : body) {
    if (s->kind == Stmt::Kind::Generation || contains_generation(s->body) || contains_generation(s->else_body)) {
      return true;
    }
    for (const auto& branch : s->branches) {
      if (contains_generation(branch.second)) return true;
    }
  }
  return false;
}

}  // namespace

struct Template::Impl {
  std::string source_name;
  Body body;
  std::vector<std::string> undefined_at_start;  // the template frame's (scoping.h)
};

Template::Template(const std::string& source, std::string source_name) : impl_(std::make_unique<Impl>()) {
  impl_->source_name = std::move(source_name);
  std::size_t bad = util::find_invalid_utf8(source);
  if (bad != std::string::npos) fail("{}: the template is not valid UTF-8 (byte {})", impl_->source_name, bad);
  impl_->body = parse(tokenize(source, impl_->source_name), impl_->source_name);
  impl_->undefined_at_start = analyze_scopes(impl_->body);
}

Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

Rendered Template::render(const nlohmann::ordered_json& context) const {
  return run(impl_->body, impl_->undefined_at_start, context, impl_->source_name);
}

bool Template::has_generation_blocks() const { return contains_generation(impl_->body); }

const std::string& Template::source_name() const { return impl_->source_name; }

}  // namespace talon::text::jinja
