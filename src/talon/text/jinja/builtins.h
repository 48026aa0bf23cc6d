// What templates call: operators with Python's semantics, attribute and item
// access as Jinja2's ImmutableSandboxedEnvironment does them (methods of str,
// dict and list; mutating methods refused), filters, tests, the globals that
// transformers adds, and JSON in and out.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "talon/text/jinja/value.h"

namespace talon::text::jinja {

// Arithmetic and `~` ("+", "-", "*", "/", "//", "%", "**", "~").
Value binary_op(const std::string& op, const Value& a, const Value& b);
// Comparisons ("==", "!=", "<", "<=", ">", ">=", "in", "not in").
bool compare_op(const std::string& op, const Value& a, const Value& b);

// `object.name`: a method bound to `object`, a dict key or loop attribute,
// else undefined; raises on Undefined.
Value get_attribute(const Value& object, const std::string& name);
// `object[key]`: an item, else the attribute named `key`, else undefined.
Value get_item(const Value& object, const Value& key);
// `object[start:stop:step]` for str, list and tuple (null parts absent).
Value get_slice(const Value& object, const Value* start, const Value* stop, const Value* step);

bool has_filter(const std::string& name);
bool has_test(const std::string& name);
Value apply_filter(const std::string& name, const Value& subject, const CallArgs& args);
bool apply_test(const std::string& name, const Value& subject, const CallArgs& args);

// The globals: raise_exception, strftime_now, namespace, dict, range, joiner.
const Dict& globals();

Value from_json(const nlohmann::ordered_json& json);
// json.dumps(v, ensure_ascii, indent, separators, sort_keys) as Python prints
// it; indent: none, an int or a str.
std::string to_json(const Value& v, bool ensure_ascii, const Value& indent, const Value& separators, bool sort_keys);

}  // namespace talon::text::jinja
