# Every dependency is a system package found with find_package; nothing is downloaded at build time.
find_package(TBB 2021 REQUIRED)
find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)

# Debian's xsimd 8.1 exports a target whose link interface names `xtl`, a library Debian does not ship
# (linking it fails with "cannot find -lxtl"). Xsimd is header-only, so take its include directory
# into a small interface target of our own.
find_package(xsimd 8 REQUIRED)
get_target_property(TESSERA_XSIMD_INCLUDE xsimd INTERFACE_INCLUDE_DIRECTORIES)
add_library(tessera_xsimd INTERFACE)
target_include_directories(tessera_xsimd SYSTEM INTERFACE ${TESSERA_XSIMD_INCLUDE})

# Model description files are JSON, read with nlohmann-json (Debian: nlohmann-json3-dev): header-only,
# used inside the library alone, so the installed package does not need it.
find_package(nlohmann_json 3.9 REQUIRED)

# MPI (Debian: libopenmpi-dev, openmpi-bin) for tessera::distributed; TESSERA_WITH_MPI defaults to
# whether it is there.
# Only MPI's C API is used (from C++): no deprecated C++ bindings.
set(MPI_CXX_SKIP_MPICXX ON)
find_package(MPI COMPONENTS CXX QUIET)
option(TESSERA_WITH_MPI "Build tessera::distributed, data-parallel training over MPI" ${MPI_CXX_FOUND})
if(TESSERA_WITH_MPI AND NOT MPI_CXX_FOUND)
  message(FATAL_ERROR "TESSERA_WITH_MPI is on but MPI was not found (Debian: apt-get install libopenmpi-dev openmpi-bin)")
endif()
message(STATUS "tessera::distributed (MPI): ${TESSERA_WITH_MPI}")

# ONNX (Debian: libonnx-dev, libprotobuf-dev) for tessera::onnx, model files exchanged with PyTorch and
# other tools; TESSERA_WITH_ONNX defaults to whether it is there. ONNX's CMake package names
# protobuf's target without finding it, so protobuf comes first.
find_package(Protobuf QUIET)
if(Protobuf_FOUND)
  find_package(ONNX QUIET)
endif()
option(TESSERA_WITH_ONNX "Build tessera::onnx, reading and writing ONNX model files" ${ONNX_FOUND})
if(TESSERA_WITH_ONNX AND NOT ONNX_FOUND)
  message(FATAL_ERROR "TESSERA_WITH_ONNX is on but ONNX was not found (Debian: apt-get install libonnx-dev libprotobuf-dev)")
endif()
message(STATUS "tessera::onnx (ONNX model files): ${TESSERA_WITH_ONNX}")

if(TESSERA_BUILD_TESTS)
  find_package(Boost 1.74 REQUIRED COMPONENTS unit_test_framework)
endif()
