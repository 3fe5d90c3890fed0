# Warnings are errors in our own code, with GCC and Clang alike. Applied per target, never globally,
# so third-party headers pulled in as SYSTEM stay out of it.
function(tessera_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wnull-dereference -Wdouble-promotion
    -Wformat=2 -Werror)
endfunction()
