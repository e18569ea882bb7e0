# Turns a file into a C source holding its bytes, NUL-terminated, so that a
# page kept in the repository (web/explorer.html) is built into the binary
# with nothing but CMake (no xxd):
#
#   cmake -DINPUT=web/explorer.html -DOUTPUT=explorer_page.c -DNAME=cc_explorer_html
#         -DHEADER=node/explorer.h -P cmake/embed_file.cmake
#
# writes `const unsigned char NAME[]` (the bytes and a final 0) and
# `const size_t NAME_len` (the bytes without the 0), declared in HEADER.
foreach(var INPUT OUTPUT NAME HEADER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_file.cmake: -D${var}=... is required")
  endif()
endforeach()

file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR size "${hex_len} / 2")
# 16 bytes a line: "0x3c,0x21,..."
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# (CMake's regular expressions have no {16}: the pattern is spelled out)
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line_pattern)
string(REGEX REPLACE "(${line_pattern})" "\\1\n" bytes "${bytes}")
get_filename_component(input_name "${INPUT}" NAME)
file(WRITE "${OUTPUT}"
  "/* Generated at build time by cmake/embed_file.cmake from ${input_name}: do not edit. */\n"
  "#include <stddef.h>\n\n#include \"${HEADER}\"\n\n"
  "const unsigned char ${NAME}[] = {\n${bytes}0x00};\n"
  "const size_t ${NAME}_len = ${size};\n")
