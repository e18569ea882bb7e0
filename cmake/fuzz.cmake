# The fuzz targets, one per fuzz/fuzz_*.c, built two ways:
#  - with -DCC_FUZZ=ON and clang, as libFuzzer programs (make fuzz, make
#    fuzz-short; `fuzz_all` builds them all);
#  - in the ordinary test build (CC_TESTS), as plain programs with the small
#    driver fuzz/replay_main.c, which ctest runs over the target's seed
#    corpus and its regressions (inputs that once made it fail), under the
#    test build's own sanitizers.
file(GLOB fuzz_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/fuzz/fuzz_*.c)
if(CC_FUZZ)
  add_custom_target(fuzz_all)
  foreach(fuzz_source ${fuzz_sources})
    get_filename_component(fuzz_name ${fuzz_source} NAME_WE)
    add_executable(${fuzz_name} ${fuzz_source})
    target_link_libraries(${fuzz_name} PRIVATE cc_node)
    target_link_options(${fuzz_name} PRIVATE -fsanitize=fuzzer)
    add_dependencies(fuzz_all ${fuzz_name})
  endforeach()
elseif(CC_TESTS)
  foreach(fuzz_source ${fuzz_sources})
    get_filename_component(fuzz_name ${fuzz_source} NAME_WE)
    string(REGEX REPLACE "^fuzz_" "" short_name ${fuzz_name})
    add_executable(replay_${short_name} ${fuzz_source} ${PROJECT_SOURCE_DIR}/fuzz/replay_main.c)
    target_link_libraries(replay_${short_name} PRIVATE cc_node m)
    add_test(NAME fuzz_replay_${short_name}
             COMMAND replay_${short_name} ${PROJECT_SOURCE_DIR}/fuzz/corpus/${short_name}
                     ${PROJECT_SOURCE_DIR}/fuzz/regressions/${short_name})
  endforeach()
endif()
