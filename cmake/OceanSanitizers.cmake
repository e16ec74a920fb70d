# Sanitizer and fuzzing instrumentation for every target of the build (library, tools, samples,
# tests). CMakePresets.json and scripts/test.sh load this file through CMAKE_PROJECT_ocean_INCLUDE,
# which CMake includes right after project(ocean), so the flags reach every target. OCEAN_SANITIZERS is a comma-separated -fsanitize= list, for example "address,undefined"
# or "thread". OCEAN_BUILD_FUZZERS adds libFuzzer coverage instrumentation so that the targets in
# tests/fuzz see the library's branches; it needs clang.
set(OCEAN_SANITIZERS "" CACHE STRING "Comma-separated -fsanitize= list for all targets (empty: none)")
option(OCEAN_BUILD_FUZZERS "Build the libFuzzer targets in tests/fuzz (clang only)" OFF)

if(OCEAN_SANITIZERS)
  if(OCEAN_SANITIZERS MATCHES "address" AND OCEAN_SANITIZERS MATCHES "thread")
    message(FATAL_ERROR "OCEAN_SANITIZERS: address and thread cannot be combined in one build")
  endif()
  # Frame pointers give complete stacks in reports. A UBSan finding stops the process, so a test
  # that triggers undefined behaviour fails instead of printing a line and passing.
  add_compile_options(-fsanitize=${OCEAN_SANITIZERS} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${OCEAN_SANITIZERS})
  if(OCEAN_SANITIZERS MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=all)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
      # The function check's prologue data breaks code generation for coroutines in clang 14,
      # Debian 12's clang ("Cannot represent a difference across sections", llvm-project issues
      # 49689 and 54153). It only checks calls through function pointers of the wrong type.
      add_compile_options(-fno-sanitize=function)
    endif()
  endif()
endif()

if(OCEAN_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "OCEAN_BUILD_FUZZERS needs clang (libFuzzer); got ${CMAKE_CXX_COMPILER_ID}")
  endif()
  # Coverage hooks only: the sanitizer runtime supplies no-op callbacks, so ordinary executables
  # in the same tree still link and run. Fuzz targets add -fsanitize=fuzzer for libFuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
