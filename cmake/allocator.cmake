# The memory allocator of Talon's programs: mimalloc (Debian's
# libmimalloc-dev), which replaces malloc for the whole process, torch's CPU
# tensors included. With glibc's malloc a long-context training step's peak
# RSS grows well beyond its live heap (freed tensors stay in the arenas);
# with mimalloc it stays the live heap plus a constant, within 15% of
# glibc's speed either way (docs/memory.md, "Allocator").
# -DTALON_MIMALLOC=OFF keeps glibc's malloc (bench/allocators.sh compares
# them; sanitizers want their own).
option(TALON_MIMALLOC "Link mimalloc into talon and bench/" ON)
if(TALON_MIMALLOC)
  find_package(mimalloc REQUIRED)
endif()

# `target` allocates with mimalloc: linked whether or not the target calls
# it, since replacing malloc is the point. One option string, which CMake
# does not merge with the other --no-as-needed group (CMakeLists.txt).
function(talon_use_mimalloc target)
  if(TALON_MIMALLOC)
    target_link_libraries(${target} PRIVATE mimalloc)
    target_compile_definitions(${target} PRIVATE TALON_MIMALLOC=1)
    target_link_options(${target} PRIVATE "LINKER:--push-state,--no-as-needed,$<TARGET_FILE:mimalloc>,--pop-state")
  endif()
endfunction()
