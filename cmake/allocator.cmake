# The memory allocator of Talon's programs: mimalloc (Debian's
# libmimalloc-dev), which replaces malloc for the whole process, torch's CPU
# tensors included. With glibc's malloc a long-context training step's peak
# RSS grows well beyond its live heap (freed tensors stay in the arenas);
# with mimalloc it stays the live heap plus a constant, at glibc's speed
# (docs/memory.md, "Allocator").
find_package(mimalloc REQUIRED)

# `target` allocates with mimalloc: linked whether or not the target calls
# it, since replacing malloc is the point.
function(talon_use_mimalloc target)
  target_link_libraries(${target} PRIVATE mimalloc)
  target_link_options(${target} PRIVATE "LINKER:--push-state,--no-as-needed" "$<TARGET_FILE:mimalloc>"
                      "LINKER:--pop-state")
endfunction()
