# Precompiled headers. torch's headers are most of the compile time of a
# translation unit that includes them (docs/benchmarks.md, "Build and test
# times"), so every target that links torch reuses one precompiled set: one
# for the libraries, tools and benchmarks, one with GoogleTest for the tests.
# -Winvalid-pch (TALON_WARNINGS) reports a target that cannot use its set.
set(TALON_PCH_HEADERS
  <ATen/ATen.h> <ATen/core/grad_mode.h> <nlohmann/json.hpp> <fmt/format.h>
  <algorithm> <cstdint> <functional> <map> <memory> <optional> <string> <vector>)

# An object library that only builds the precompiled set `name` of
# TALON_PCH_HEADERS plus ARG_HEADERS, with the usage requirements of ARG_LIBS.
function(talon_pch_set name)
  cmake_parse_arguments(ARG "" "" "HEADERS;LIBS" ${ARGN})
  set(source ${CMAKE_BINARY_DIR}/${name}.cpp)
  file(CONFIGURE OUTPUT ${source} CONTENT "// Empty: ${name} exists to build its precompiled headers.\n")
  add_library(${name} OBJECT ${source})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS})
  target_compile_options(${name} PRIVATE ${TALON_WARNINGS})
  target_precompile_headers(${name} PRIVATE ${TALON_PCH_HEADERS} ${ARG_HEADERS})
endfunction()

talon_pch_set(talon_pch LIBS torch fmt::fmt-header-only nlohmann_json::nlohmann_json)

# target uses the precompiled set `set` (talon_pch unless given).
function(talon_use_pch target)
  set(pch_set talon_pch)
  if(ARGC GREATER 1)
    set(pch_set ${ARGV1})
  endif()
  target_precompile_headers(${target} REUSE_FROM ${pch_set})
endfunction()

# Sets `out` to TRUE when one of the link items in ARGN is torch or a target
# marked TALON_USES_TORCH (talon_library marks the libraries that link torch).
function(talon_uses_torch out)
  set(result FALSE)
  foreach(item ${ARGN})
    if(item STREQUAL "torch" OR item IN_LIST TORCH_LIBRARIES)
      set(result TRUE)
    elseif(TARGET ${item})
      get_target_property(uses ${item} TALON_USES_TORCH)
      if(uses)
        set(result TRUE)
      endif()
    endif()
  endforeach()
  set(${out} ${result} PARENT_SCOPE)
endfunction()
