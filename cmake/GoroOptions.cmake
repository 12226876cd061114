# goro_set_target_options(<target>)
#
# Per-target settings for goro's own targets (library, tests, benchmarks,
# examples): C++20 and the project's warning level, plus -Werror when
# GORO_WARNINGS_AS_ERRORS is ON. Warnings are PRIVATE and C/C++ only (not for
# .S files), so they never leak into consumers or into GoogleTest.
include_guard(GLOBAL)

function(goro_set_target_options target)
  get_target_property(_type ${target} TYPE)
  if(_type STREQUAL "INTERFACE_LIBRARY")
    return()
  endif()
  target_compile_features(${target} PRIVATE cxx_std_20)
  if(MSVC)
    set(_warn /W4)
    if(GORO_WARNINGS_AS_ERRORS)
      list(APPEND _warn /WX)
    endif()
  else()
    set(_warn -Wall -Wextra)
    if(GORO_WARNINGS_AS_ERRORS)
      list(APPEND _warn -Werror)
    endif()
  endif()
  target_compile_options(${target} PRIVATE "$<$<COMPILE_LANGUAGE:C,CXX>:${_warn}>")
endfunction()
