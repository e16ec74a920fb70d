# Finds libjq (Debian: libjq-dev), which ships no CMake or pkg-config file.
# Defines JQ_FOUND and the imported target JQ::JQ.
find_path(JQ_INCLUDE_DIR NAMES jq.h)
find_library(JQ_LIBRARY NAMES jq)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(JQ REQUIRED_VARS JQ_LIBRARY JQ_INCLUDE_DIR)
if(JQ_FOUND AND NOT TARGET JQ::JQ)
  add_library(JQ::JQ UNKNOWN IMPORTED)
  set_target_properties(JQ::JQ PROPERTIES
    IMPORTED_LOCATION "${JQ_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${JQ_INCLUDE_DIR}")
endif()
mark_as_advanced(JQ_INCLUDE_DIR JQ_LIBRARY)
