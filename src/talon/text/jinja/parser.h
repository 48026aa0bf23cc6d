// Builds the statement tree from tokens, following Jinja2's grammar and
// operator precedence.
#pragma once

#include <string>
#include <vector>

#include "talon/text/jinja/ast.h"
#include "talon/text/jinja/lexer.h"

namespace talon::text::jinja {

// Throws talon::Error "<source_name>:<line>: <what was expected>, found <what>".
Body parse(const std::vector<Token>& tokens, const std::string& source_name);

}  // namespace talon::text::jinja
