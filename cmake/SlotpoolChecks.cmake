# SPDX-License-Identifier: MIT
# Configure-time consistency checks of the release metadata.

# The SP_VERSION_* macros of include/slotpool/common.h (what sp_version()
# returns) must equal project(VERSION): a release bumps both.
function(sp_check_version_macros header)
  file(STRINGS ${header} _lines REGEX "^#define SP_VERSION_(MAJOR|MINOR|PATCH) ")
  foreach(part MAJOR MINOR PATCH)
    set(_v "")
    foreach(l IN LISTS _lines)
      if(l MATCHES "^#define SP_VERSION_${part} +([0-9]+)")
        set(_v ${CMAKE_MATCH_1})
      endif()
    endforeach()
    if(NOT _v STREQUAL "${PROJECT_VERSION_${part}}")
      message(FATAL_ERROR "slotpool: ${header} defines SP_VERSION_${part} as '${_v}' but "
                          "project() says ${PROJECT_VERSION}: make them agree")
    endif()
  endforeach()
endfunction()

# Every function declared SP_API in the public headers must be listed in the
# linker version script, or the shared library will not export it. A warning
# here, so the build goes on; the test abi_symbols fails on it.
function(sp_check_symbol_map map)
  file(GLOB _headers ${PROJECT_SOURCE_DIR}/include/*.h ${PROJECT_SOURCE_DIR}/include/slotpool/*.h)
  file(READ ${map} _map)
  set(_missing "")
  foreach(h IN LISTS _headers)
    file(STRINGS ${h} _decls REGEX "^SP_API .*[ *]sp_[a-z0-9_]+\\(")
    foreach(d IN LISTS _decls)
      if(d MATCHES "[ *](sp_[a-z0-9_]+)\\(")
        set(_name ${CMAKE_MATCH_1})
        if(NOT _map MATCHES "[ \t\n]${_name};")
          list(APPEND _missing ${_name})
        endif()
      endif()
    endforeach()
  endforeach()
  if(_missing)
    list(JOIN _missing ", " _list)
    message(WARNING "slotpool: not in ${map}, so not exported by libslotpool.so: ${_list}. "
                    "Add each to the global: list of the newest version node.")
  endif()
endfunction()
