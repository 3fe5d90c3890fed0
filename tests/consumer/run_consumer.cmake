# CTest driver: installs this build into a fresh prefix, then configures, builds and runs the
# downstream project against it: as a user with only tessera::tessera on a machine without MPI (MPI
# hidden from CMake), and, when the build has MPI, asking for the distributed component too; and
# checks that asking for that component where MPI is missing fails with a message that says so; the
# same for the onnx component.
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DCXX=... -DGENERATOR=... [-DEXTRA_FLAGS=...]
#         [-DWITH_MPI=ON] [-DWITH_ONNX=ON] -P run_consumer.cmake
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer test: '${ARGV}' failed (${rc}):\n${out}")
  endif()
  message("${out}")
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${WORK_DIR}/prefix")
set(common -G "${GENERATOR}" "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix" "-DCMAKE_CXX_COMPILER=${CXX}"
    "-DCMAKE_CXX_FLAGS=${EXTRA_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${EXTRA_FLAGS}")

# A machine without MPI: find_package(MPI) finds nothing.
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/core" ${common} -DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON)
run(${CMAKE_COMMAND} --build "${WORK_DIR}/core")
run("${WORK_DIR}/core/consumer")

# Asking for an optional component where its dependency is missing fails, saying why.
function(expect_refused component package option)
  execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/no-${component}" ${common}
                          -DCMAKE_DISABLE_FIND_PACKAGE_${package}=ON -D${option}=ON
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(rc EQUAL 0 OR NOT out MATCHES "tessera's component '${component}': (it needs ${package}|this tessera was built without ${package})")
    message(FATAL_ERROR "consumer test: asking for tessera::${component} without ${package} did not fail clearly (${rc}):\n${out}")
  endif()
endfunction()
expect_refused(distributed MPI WANT_DISTRIBUTED)
expect_refused(onnx ONNX WANT_ONNX)

if(WITH_ONNX)
  run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/onnx" ${common} -DWANT_ONNX=ON)
  run(${CMAKE_COMMAND} --build "${WORK_DIR}/onnx")
  run("${WORK_DIR}/onnx/consumer")
endif()

if(WITH_MPI)
  run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/distributed" ${common} -DWANT_DISTRIBUTED=ON)
  run(${CMAKE_COMMAND} --build "${WORK_DIR}/distributed")
  run("${WORK_DIR}/distributed/consumer")
endif()
