# Shared settings for every ssebridge target.
add_library(ssebridge_options INTERFACE)
# g++ 12 false positives: -Wmaybe-uninitialized inside Boost.Optional/Beast at -O2, and
# -Wmismatched-new-delete on coroutine frames (awaitable_frame_base::operator delete), and
# -Wrestrict in std::string concatenation at -O3 (GCC bug 105329).
target_compile_options(ssebridge_options INTERFACE -Wall -Wextra -Wpedantic
  $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized -Wno-mismatched-new-delete -Wno-restrict>
  $<$<BOOL:${SSEBRIDGE_WERROR}>:-Werror>)
if(SSEBRIDGE_SANITIZE)
  target_compile_options(ssebridge_options INTERFACE -fsanitize=address,undefined
    -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(ssebridge_options INTERFACE -fsanitize=address,undefined)
endif()
if(SSEBRIDGE_TSAN)
  # librdkafka's C11 threads, made visible to TSan: see tsan_c11_threads.cpp.
  add_library(ssebridge_tsan_c11 STATIC ${CMAKE_CURRENT_LIST_DIR}/tsan_c11_threads.cpp)
  target_compile_options(ssebridge_tsan_c11 PRIVATE -fsanitize=thread)
  target_link_libraries(ssebridge_options INTERFACE
    "$<BUILD_INTERFACE:$<LINK_LIBRARY:WHOLE_ARCHIVE,ssebridge_tsan_c11>>")
  # -Wno-tsan: Asio fences its handler memory, which TSan does not model (g++ warns).
  target_compile_options(ssebridge_options INTERFACE -fsanitize=thread -fno-omit-frame-pointer
    $<$<CXX_COMPILER_ID:GNU>:-Wno-tsan>)
  target_link_options(ssebridge_options INTERFACE -fsanitize=thread)
endif()
install(TARGETS ssebridge_options EXPORT ssebridgeTargets)

# ssebridge_add_library(NAME SOURCES... DEPS ...): one part of lib/, exported as ssebridge::NAME.
function(ssebridge_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(ssebridge_${name} ${ARG_SOURCES})
  add_library(ssebridge::${name} ALIAS ssebridge_${name})
  set_target_properties(ssebridge_${name} PROPERTIES EXPORT_NAME ${name})
  target_include_directories(ssebridge_${name} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(ssebridge_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS}
    $<BUILD_INTERFACE:ssebridge_options>)
  install(TARGETS ssebridge_${name} EXPORT ssebridgeTargets)
  install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()
