# nocopy_target_defaults(<target>): warnings as errors on the project's own code.
function(nocopy_target_defaults target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Werror
    -Wno-missing-field-initializers
    $<$<CXX_COMPILER_ID:GNU>:-Wno-stringop-overflow>)
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/src)
endfunction()

# nocopy_layer(<name> DEPS <libs...>): one static library per layer folder,
# built from every .cc in it. Adding a file needs no CMake edit.
function(nocopy_layer name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  if(NOT srcs)
    add_library(nocopy_${name} INTERFACE)
    target_include_directories(nocopy_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(nocopy_${name} INTERFACE ${ARG_DEPS})
    return()
  endif()
  add_library(nocopy_${name} STATIC ${srcs})
  nocopy_target_defaults(nocopy_${name})
  target_link_libraries(nocopy_${name} PUBLIC ${ARG_DEPS})
endfunction()

# nocopy_test(<name> DEPS <libs...>): one GoogleTest binary from every .cc in
# the calling folder, registered with ctest test by test.
function(nocopy_test name)
  cmake_parse_arguments(ARG "" "" "DEPS;LABELS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  add_executable(${name} ${srcs})
  nocopy_target_defaults(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS "unit;${ARG_LABELS}" TIMEOUT 300)
endfunction()
