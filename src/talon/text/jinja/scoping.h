// Jinja2 decides at compile time, per frame (the template, a for body or
// else, a macro, call, generation, set, with or filter block), where each name
// comes from: a name whose first use in the frame's own statements is an
// assignment, and that no enclosing frame uses, is the frame's own and starts
// undefined, hiding the context's value of the same name (for code before the
// assignment and nested frames). This reproduces that analysis
// (jinja2/idtracking.py) so the interpreter can start those names undefined.
#pragma once

#include <string>
#include <vector>

#include "talon/text/jinja/ast.h"

namespace talon::text::jinja {

// Fills undefined_in_body/else of every statement below; returns the
// template frame's own list.
std::vector<std::string> analyze_scopes(Body& root);

}  // namespace talon::text::jinja
