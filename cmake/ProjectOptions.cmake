# Warnings and sanitizers, applied to every chainfs target through chainfs_options.
add_library(chainfs_options INTERFACE)
target_compile_options(chainfs_options INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
  -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual -Wnull-dereference -Wformat=2
  $<$<BOOL:${CHAINFS_WERROR}>:-Werror>)
target_compile_definitions(chainfs_options INTERFACE _FILE_OFFSET_BITS=64)
# clang checks the lock annotations of base/thread_annotations.h (GCC has no such analysis).
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  target_compile_options(chainfs_options INTERFACE -Wthread-safety)
endif()
if(CHAINFS_FUZZ)
  # Coverage instrumentation for libFuzzer in every library; the fuzz targets link the
  # fuzzer's main (test/fuzz/CMakeLists.txt).
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "CHAINFS_FUZZ needs clang (-DCMAKE_CXX_COMPILER=clang++)")
  endif()
  target_compile_options(chainfs_options INTERFACE -fsanitize=fuzzer-no-link,address,undefined
    -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(chainfs_options INTERFACE -fsanitize=address,undefined)
elseif(CHAINFS_SANITIZE STREQUAL "address")
  target_compile_options(chainfs_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  target_link_options(chainfs_options INTERFACE -fsanitize=address,undefined)
elseif(CHAINFS_SANITIZE STREQUAL "thread")
  target_compile_options(chainfs_options INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(chainfs_options INTERFACE -fsanitize=thread)
elseif(NOT CHAINFS_SANITIZE STREQUAL "")
  message(FATAL_ERROR "CHAINFS_SANITIZE must be '', 'address' or 'thread'")
endif()

# chainfs_expose(TARGET PATH...): TARGET's own headers are PATH (folders or files relative to
# the source root). TARGET and whatever links it include them as "PATH/name.h" and see no
# other part of the tree: each target has its own include root, made of symbolic links to
# what it exposes, so a file that includes a layer it does not link does not compile.
function(chainfs_expose target)
  set(root ${PROJECT_BINARY_DIR}/include/${target})
  foreach(path IN LISTS ARGN)
    get_filename_component(parent ${root}/${path} DIRECTORY)
    file(MAKE_DIRECTORY ${parent})
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${path} ${root}/${path} SYMBOLIC)
  endforeach()
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    target_include_directories(${target} INTERFACE ${root})
  else()
    target_include_directories(${target} PUBLIC ${root})
  endif()
endfunction()

# chainfs_test(NAME SOURCES... LIBS ...): one doctest executable, its cases registered with CTest.
function(chainfs_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES} ${PROJECT_SOURCE_DIR}/test/lib/doctest_main.cc)
  target_link_libraries(${name} PRIVATE chainfs_options doctest::doctest ${T_LIBS})
  doctest_discover_tests(${name})
  # chainfs_unit_tests builds every doctest executable and nothing else (the sanitizer
  # stages of scripts/test.sh build only that).
  if(NOT TARGET chainfs_unit_tests)
    add_custom_target(chainfs_unit_tests)
  endif()
  add_dependencies(chainfs_unit_tests ${name})
  # doctest's PROPERTIES are a flat list followed by its own LABELS, so a list of labels
  # cannot go through it; set labels and timeout on the discovered tests afterwards.
  set(labels unit ${T_LABELS})
  set(script ${CMAKE_CURRENT_BINARY_DIR}/${name}_properties.cmake)
  file(WRITE ${script}
    "foreach(t IN LISTS ${name}_TESTS)\n"
    "  set_tests_properties(\"\${t}\" PROPERTIES LABELS \"${labels}\" TIMEOUT 600)\n"
    "endforeach()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${script})
endfunction()
