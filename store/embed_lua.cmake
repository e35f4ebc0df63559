# Writes the Lua script INPUT into a C++ header OUTPUT as a raw string literal,
# so the store binary carries the exact script it was tested with and needs no
# file at run time. Run at build time: editing fleet.lua rebuilds the store.
file(READ "${INPUT}" script)
set(delimiter "fluxguard_lua")
string(FIND "${script}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw string delimiter )${delimiter}\"")
endif()
set(content "// Generated from ${INPUT} by embed_lua.cmake. Do not edit.\n#pragma once\n#include <string_view>\nnamespace fluxguard::generated {\ninline constexpr std::string_view ${NAME} = R\"${delimiter}(${script})${delimiter}\";\n}\n")
# Only rewrite when different, so an unchanged script rebuilds nothing.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
  if(old STREQUAL content)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${content}")
