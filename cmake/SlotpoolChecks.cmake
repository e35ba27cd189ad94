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
