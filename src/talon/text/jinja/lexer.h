// Splits a template into tokens as Jinja2's lexer does with trim_blocks and
// lstrip_blocks on: text data, the delimiters of {{ }} and {% %} (comments
// are dropped), and the names, literals and operators inside them.
#pragma once

#include <string>
#include <vector>

namespace talon::text::jinja {

struct Token {
  enum class Type { Data, VariableBegin, VariableEnd, BlockBegin, BlockEnd, Name, String, Integer, Float, Operator, End };
  Type type;
  std::string text;  // Data: the text; String: the decoded value; others: as written
  int line;
};

// Throws talon::Error "<source_name>:<line>: <what>" on a lexical error.
std::vector<Token> tokenize(const std::string& source, const std::string& source_name);

}  // namespace talon::text::jinja
