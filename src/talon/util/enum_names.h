// An enum's names as one table, read both ways: the value of a name (an
// unknown name is an error listing the known ones) and the name of a value.
// Header-only.
#pragma once

#include <cstddef>
#include <string>

#include "talon/util/error.h"

namespace talon::util {

template <typename E>
struct EnumName {
  E value;
  const char* name;
};

// `what` names the kind of value in the error: "unknown <what> 'x': expected a, b or c".
template <typename E, std::size_t N>
E parse_enum(const EnumName<E> (&names)[N], const std::string& name, const char* what) {
  std::string known;
  for (std::size_t i = 0; i < N; ++i) {
    if (name == names[i].name) return names[i].value;
    known += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + std::string(names[i].name);
  }
  fail("unknown {} '{}': expected {}", what, name, known);
}

template <typename E, std::size_t N>
const char* enum_name(const EnumName<E> (&names)[N], E value) {
  for (const EnumName<E>& entry : names) {
    if (entry.value == value) return entry.name;
  }
  return "?";
}

}  // namespace talon::util
