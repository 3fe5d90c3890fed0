# TESSERA_SANITIZE=ON builds everything (library, tests, apps) with ASan + UBSan; any report aborts.
if(TESSERA_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()
if(TESSERA_NATIVE)
  add_compile_options(-march=native)
endif()
