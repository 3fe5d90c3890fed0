# Installs the static libraries, their headers and a CMake package, so that another project can
#   find_package(tessera CONFIG REQUIRED)  and  target_link_libraries(app PRIVATE tessera::tessera)
#   find_package(tessera CONFIG REQUIRED COMPONENTS distributed)  for tessera::distributed too
#   find_package(tessera CONFIG REQUIRED COMPONENTS onnx)  for tessera::onnx (ONNX model files)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS tessera EXPORT tesseraTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# tessera::distributed in an export of its own, loaded only by find_package(tessera COMPONENTS
# distributed): a user without MPI still gets tessera::tessera.
if(TESSERA_WITH_MPI)
  install(TARGETS tessera_distributed EXPORT tesseraDistributedTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
if(TESSERA_WITH_ONNX)
  install(TARGETS tessera_onnx EXPORT tesseraOnnxTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/lib/include/tessera DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(TESSERA_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tessera)
install(EXPORT tesseraTargets NAMESPACE tessera:: DESTINATION ${TESSERA_CMAKE_DIR})
if(TESSERA_WITH_MPI)
  install(EXPORT tesseraDistributedTargets NAMESPACE tessera:: DESTINATION ${TESSERA_CMAKE_DIR})
endif()
if(TESSERA_WITH_ONNX)
  install(EXPORT tesseraOnnxTargets NAMESPACE tessera:: DESTINATION ${TESSERA_CMAKE_DIR})
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/tesseraConfig.cmake.in
  ${PROJECT_BINARY_DIR}/tesseraConfig.cmake INSTALL_DESTINATION ${TESSERA_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tesseraConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/tesseraConfig.cmake ${PROJECT_BINARY_DIR}/tesseraConfigVersion.cmake
  DESTINATION ${TESSERA_CMAKE_DIR})
