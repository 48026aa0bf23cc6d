// Runs a parsed template: Jinja's scoping (a for iteration, macro, with and
// set block each have their own scope; namespace() objects are shared), loop
// controls, macros and call blocks, and the {% generation %} spans.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "talon/text/jinja.h"
#include "talon/text/jinja/ast.h"

namespace talon::text::jinja {

// `undefined_at_start`: the template frame's names that start undefined
// (scoping.h). Throws talon::Error "<source_name>:<line>: <message>" on a
// runtime error.
Rendered run(const Body& body, const std::vector<std::string>& undefined_at_start,
             const nlohmann::ordered_json& context, const std::string& source_name);

}  // namespace talon::text::jinja
