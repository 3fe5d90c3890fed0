# TESSERA_SANITIZE=ON builds everything (library, tests, apps) with ASan + UBSan; any report aborts.
# TESSERA_TSAN=ON builds with ThreadSanitizer instead (scripts/tsan).
if(TESSERA_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "TESSERA_FUZZ needs Clang (libFuzzer): configure with the asan preset")
  endif()
  # The fuzz targets (tests/fuzz) beside the tests, in the same ASan + UBSan build: coverage for the
  # fuzzer on the readers' sources only (lib/CMakeLists.txt); the targets link -fsanitize=fuzzer.
  set(TESSERA_SANITIZE ON)
endif()
if(TESSERA_TSAN)
  if(TESSERA_SANITIZE)
    message(FATAL_ERROR "TESSERA_TSAN and TESSERA_SANITIZE (ASan) cannot be combined")
  endif()
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  add_compile_definitions(TESSERA_KERNEL_NO_UNROLL)
endif()
if(TESSERA_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
  # The micro-kernels are fully unrolled; instrumented and unrolled 4x more along k, one ISA's file
  # took minutes to compile. The k loop's arithmetic is the same either way.
  add_compile_definitions(TESSERA_KERNEL_NO_UNROLL)
endif()
if(TESSERA_NATIVE)
  add_compile_options(-march=native)
endif()
